"""``neptune_scale.util``: ``get_logger`` and ``Daemon``, as neptune-scale exported them."""

from __future__ import annotations

from .daemon import Daemon
from .logger import get_logger

__all__ = ["Daemon", "get_logger"]
