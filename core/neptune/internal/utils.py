"""``neptune.internal.utils.verify_type``, which transformers' ``NeptuneCallback`` calls."""

from __future__ import annotations

from typing import Any

__all__ = ["verify_type"]


def verify_type(var_name: str, var: Any, expected_type: type | tuple[type, ...]) -> None:
    """Raise ``TypeError`` naming ``var_name`` when ``var`` is not of ``expected_type``."""
    if not isinstance(var, expected_type):
        types = expected_type if isinstance(expected_type, tuple) else (expected_type,)
        names = ", ".join(t.__name__ for t in types)
        raise TypeError(f"{var_name} must be one of ({names}), got {type(var).__name__}")
