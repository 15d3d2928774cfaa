"""``neptune_scale.util.logger``: ``get_logger()``, the logger the layer reports to."""

from __future__ import annotations

import logging

__all__ = ["get_logger"]

NAME = "naiad.neptune_scale"


def get_logger() -> logging.Logger:
    """The ``naiad.neptune_scale`` logger: dropped values, errors without a callback.

    naiad adds no handler to it (Python's last-resort handler prints warnings to stderr);
    configure it as any logger.
    """
    return logging.getLogger(NAME)
