"""``neptune_scale.api.run``: ``from neptune_scale.api.run import Run, SourceTrackingConfig``."""

from __future__ import annotations

from .._run import Run, SourceTrackingConfig

__all__ = ["Run", "SourceTrackingConfig"]
