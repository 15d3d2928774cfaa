"""Neptune 1.x's lenient write policy over naiad's strict core.

Neptune's client warned (``NeptuneUnsupportedType``) and skipped a value it could not store,
and its server dropped a step that went back; naiad's core raises for both. These helpers
turn a user's value into what :class:`naiad.Run` takes, and a core refusal into a warning.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .. import File as NaiadFile
from .. import NaiadError, errors
from ..neptune_scale._convert import scalar
from .types import File, _png

__all__ = ["NeptuneUnsupportedType", "NeptuneWarning", "atom", "guarded", "series_value", "to_file"]

_ATOMS = (str, int, float, bool, datetime)


class NeptuneWarning(Warning):
    """A value, a step or a call the layer skipped, as Neptune 1.x skipped it."""


class NeptuneUnsupportedType(NeptuneWarning):
    """Neptune 1.x's warning for a value of a type it cannot store (the value is skipped)."""


def warn(message: str, category: type[Warning] = NeptuneWarning) -> None:
    errors.warn(message, category)


def unsupported(path: str, value: Any) -> None:
    warn(
        f"You're attempting to log a type that is not directly supported by Neptune "
        f"({type(value).__name__}) at '{path}'; it was skipped. Convert it with "
        "neptune.utils.stringify_unsupported() or str().",
        NeptuneUnsupportedType,
    )


def is_image(value: Any) -> bool:
    """A matplotlib figure or a PIL image (stored as a PNG wherever a file goes)."""
    return hasattr(value, "savefig") or (hasattr(value, "save") and hasattr(value, "mode"))


def is_array_image(value: Any) -> bool:
    """A 2-D or 3-D numpy array or torch tensor: an image when uploaded or appended."""
    shape = getattr(value, "shape", None)
    return (
        type(value).__module__.split(".", 1)[0] in ("numpy", "torch")
        and hasattr(value, "tolist")
        and shape is not None
        and len(shape) in (2, 3)
    )


def to_file(path: str, value: Any) -> NaiadFile | None:
    """An upload's value as a naiad file; ``None`` (warned) when Neptune could not upload it.

    Neptune's implicit conversions: a figure, a PIL image, an array or a tensor becomes a PNG;
    a pandas DataFrame or a plotly figure an HTML page.
    """
    stem = path.rsplit("/", 1)[-1]
    if isinstance(value, File):
        return value.to_naiad(stem)
    if isinstance(value, NaiadFile):
        return value
    if is_image(value) or is_array_image(value):
        return NaiadFile(_png(value), name=f"{stem}.png")
    if hasattr(value, "to_html") and not isinstance(value, (str, bytes)):
        return File.as_html(value).to_naiad(stem)
    if isinstance(value, (str, bytes)) or hasattr(value, "__fspath__") or hasattr(value, "read"):
        return NaiadFile(value)
    unsupported(path, value)
    return None


def atom(path: str, value: Any) -> Any:
    """A single value as naiad stores it, or ``None`` (warned) when Neptune would skip it.

    numpy and torch scalars become the Python number they hold (Neptune typed them so).
    """
    value = scalar(value)
    if isinstance(value, (*_ATOMS, File, NaiadFile)) or is_image(value):
        return value
    unsupported(path, value)
    return None


def series_value(path: str, value: Any) -> Any:
    """A point for ``append``: a number, a str, or a file/image; ``None`` (warned) otherwise."""
    value = scalar(value)
    if isinstance(value, (File, NaiadFile)) or is_image(value) or is_array_image(value):
        return to_file(path, value)
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return float(value)
    unsupported(path, value)
    return None


def guarded(write: Callable[[], None]) -> bool:
    """Run one core write; a refusal (type change, step back, bad value) is warned, not raised."""
    try:
        write()
    except NaiadError as e:
        warn(f"{e} The value was skipped, as Neptune skipped it.")
        return False
    return True
