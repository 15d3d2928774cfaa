"""``neptune.internal``: the few internals framework callbacks import (``utils.verify_type``)."""
