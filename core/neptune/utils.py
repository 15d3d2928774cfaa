"""``neptune.utils``: :func:`stringify_unsupported`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..neptune_scale._convert import scalar

__all__ = ["stringify_unsupported"]

_SUPPORTED = (str, int, float, bool, datetime)


def stringify_unsupported(value: Any, expand: bool = False) -> Any:
    """``value`` with every value Neptune could not store replaced by its ``str()``.

    Mappings are walked recursively (their keys become strings); with ``expand=True``, lists
    and tuples become mappings keyed by position (``{"0": ..., "1": ...}``), as Neptune did.

    Example:
        >>> stringify_unsupported({"layers": [64, 32], "act": None})
        {'layers': '[64, 32]', 'act': 'None'}
        >>> stringify_unsupported({"layers": [64, 32]}, expand=True)
        {'layers': {'0': 64, '1': 32}}
    """
    if isinstance(value, Mapping):
        return {str(k): stringify_unsupported(v, expand) for k, v in value.items()}
    if expand and isinstance(value, (list, tuple)):
        return {str(i): stringify_unsupported(v, expand) for i, v in enumerate(value)}
    value = scalar(value)
    return value if isinstance(value, _SUPPORTED) else str(value)
