"""What the scikit-learn, XGBoost and LightGBM integrations share: charts, and logging that never raises.

matplotlib is optional: without it, or when a chart cannot be drawn, the chart is skipped
with a warning and the training or summary goes on.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from .. import _values as v
from ..types import File

__all__ = ["charts", "safely"]


def charts(what: str, draw: Callable[..., dict[str, Any]], *args: Any) -> dict[str, File]:
    """PNG charts from ``draw(plt, *args)``; none (warned) without matplotlib or when one fails.

    Args:
        what: the charts' name in the warning ("the scikit-learn diagnostics charts").
        draw: returns ``{name: figure}``.
        *args: passed to ``draw`` after ``plt``.
    """
    if importlib.util.find_spec("matplotlib") is None:
        v.warn(f"matplotlib is not installed: {what} are not drawn.")
        return {}
    import matplotlib

    matplotlib.use("Agg")  # no display is needed to draw a chart into a file
    import matplotlib.pyplot as plt

    try:
        figures = draw(plt, *args)
    except Exception as e:  # a chart the model cannot have never stops the training or the summary
        v.warn(f"One of {what} could not be drawn ({e}); it was skipped.")
        return {}
    out = {name: File.as_image(fig) for name, fig in figures.items()}
    for fig in figures.values():
        plt.close(fig)
    return out


def safely(integration: str, what: str, write: Callable[[], None]) -> None:
    """Run ``write``; a failure reading the framework's state warns and skips that part.

    Logging never stops training: the core's refusals are already warnings
    (``_values.guarded``); this covers the framework side (a booster without a config).
    """
    try:
        write()
    except Exception as e:
        v.warn(f"naiad.neptune's {integration} integration could not log {what} ({e}); it was skipped.")
