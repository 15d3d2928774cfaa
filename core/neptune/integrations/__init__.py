"""``neptune.integrations``: Neptune's framework integrations, mapped onto naiad's own."""
