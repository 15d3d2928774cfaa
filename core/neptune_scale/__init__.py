"""``naiad.neptune_scale``: code written for ``neptune_scale`` (0.30) logs into naiad.

Rewrite the imports, nothing else: ``from neptune_scale import Run`` becomes
``from naiad.neptune_scale import Run``, ``from neptune_scale.types import File, Histogram``
becomes ``from naiad.neptune_scale.types import File, Histogram``. The layer maps each call
onto :class:`naiad.Run`; where neptune-scale behaved differently (bad values dropped with a
warning, a step that goes back dropped and reported to ``on_error_callback``), the difference
is kept here and the core stays strict. The README's "Coming from Neptune?" has the table.

Example:
    >>> from naiad.neptune_scale import Run
    >>> with Run(experiment_name="seabird") as run:  # doctest: +SKIP
    ...     run.log_metrics({"train/loss": 0.5}, step=1)
"""

from __future__ import annotations

from ._logging import NeptuneLoggingHandler
from ._run import Run, SourceTrackingConfig
from .exceptions import NeptuneScaleWarning

__all__ = ["NeptuneLoggingHandler", "NeptuneScaleWarning", "Run", "SourceTrackingConfig"]
