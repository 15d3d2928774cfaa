"""``neptune.integrations.tensorboard``: what a script writes to TensorBoard goes to the run too.

After ``enable_tensorboard_logging(run)``, every ``torch.utils.tensorboard.SummaryWriter``
(those made before the call too) still writes its event files, and also logs, under
``base_namespace`` (default ``tensorboard``):

- ``add_scalar(tag, value, global_step)``: a point of the float series ``<tag>`` (step =
  ``global_step``; without one, the next step), so ``"Loss/train"`` is ``tensorboard/Loss/train``;
- ``add_scalars(main_tag, {name: value}, global_step)``: a point of each ``<main_tag>/<name>``;
- ``add_text(tag, text, global_step)``: a point of the string series ``<tag>``;
- ``add_figure(tag, figure, global_step)``: a PNG point of the file series ``<tag>``;
- ``add_hparams(hparam_dict, metric_dict)``: ``hparams/<name>`` (unsupported values as
  strings) and ``hparam_metrics/<name>`` (TensorBoard's own nested ``add_scalar`` calls for
  those metrics are not logged a second time).

One run at a time: a second call points every writer at the new run;
:func:`disable_tensorboard_logging` puts SummaryWriter back as it was. Logging never raises
into training: a value the run refuses is warned about and skipped. tensorboardX and
TensorFlow's ``tf.summary`` writers are not patched (neither is installed where naiad is
tested). torch is imported by the call, never at import.

Example:
    >>> from naiad.neptune.integrations.tensorboard import enable_tensorboard_logging
    >>> enable_tensorboard_logging(run)  # doctest: +SKIP
    >>> SummaryWriter("runs/a").add_scalar("Loss/train", 0.5, 1)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

from ..types import File
from ..utils import stringify_unsupported
from ._shared import safely

__all__ = ["disable_tensorboard_logging", "enable_tensorboard_logging"]

_target: list[Any] = []  # the namespace handle the writers log into (at most one)
_originals: dict[str, Callable[..., Any]] = {}  # SummaryWriter's own methods, while patched
_inside = threading.local()  # set while a patched method runs: its nested calls are TensorBoard's


def enable_tensorboard_logging(run: Any, base_namespace: str = "tensorboard") -> None:
    """Log what every ``SummaryWriter`` writes into ``run`` as well.

    Args:
        run: a run from ``init_run`` or a namespace handle (``run["tb"]``).
        base_namespace: where everything goes, under ``run``.
    """
    from torch.utils.tensorboard import SummaryWriter

    _target[:] = [run[base_namespace] if base_namespace else run]
    for name, log in _LOGGERS.items():
        if name not in _originals:
            _originals[name] = getattr(SummaryWriter, name)
            setattr(SummaryWriter, name, _patched(_originals[name], log))


def disable_tensorboard_logging() -> None:
    """Put ``SummaryWriter``'s own methods back: TensorBoard only, from now on."""
    from torch.utils.tensorboard import SummaryWriter

    for name, original in _originals.items():
        setattr(SummaryWriter, name, original)
    _originals.clear()
    _target.clear()


def _patched(original: Callable[..., Any], log: Callable[..., None]) -> Callable[..., Any]:
    @functools.wraps(original)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_inside, "active", False) or not _target:
            return original(self, *args, **kwargs)
        _inside.active = True
        try:
            # before TensorBoard's own write: add_figure closes the figure it is given
            safely("TensorBoard", f"a SummaryWriter.{original.__name__} call", lambda: log(*args, **kwargs))
            return original(self, *args, **kwargs)
        finally:
            _inside.active = False

    return method


def _step(global_step: Any) -> float | None:
    return None if global_step is None else float(global_step)


def _number(value: Any) -> float:
    """A float of a number, a NumPy scalar or a one-element tensor (``.item()`` needs no detach)."""
    return float(value.item() if hasattr(value, "item") else value)


def _scalar(tag: str, scalar_value: Any, global_step: Any = None, *_: Any, **__: Any) -> None:
    _target[0][tag].append(_number(scalar_value), step=_step(global_step))


def _scalars(
    main_tag: str, tag_scalar_dict: Mapping[str, Any], global_step: Any = None, *_: Any, **__: Any
) -> None:
    for name, value in tag_scalar_dict.items():
        _target[0][main_tag][name].append(_number(value), step=_step(global_step))


def _text(tag: str, text_string: str, global_step: Any = None, *_: Any, **__: Any) -> None:
    _target[0][tag].append(str(text_string), step=_step(global_step))


def _figure(tag: str, figure: Any, global_step: Any = None, *_: Any, **__: Any) -> None:
    figures = figure if isinstance(figure, list) else [figure]
    for i, fig in enumerate(figures):  # a list of figures: one point each, steps after global_step
        step = None if global_step is None else float(global_step) + i
        _target[0][tag].append(File.as_image(fig), step=step)


def _hparams(hparam_dict: Mapping[str, Any], metric_dict: Mapping[str, Any], *_: Any, **__: Any) -> None:
    _target[0]["hparams"] = stringify_unsupported(dict(hparam_dict))
    _target[0]["hparam_metrics"] = {name: _number(value) for name, value in metric_dict.items()}


_LOGGERS: dict[str, Callable[..., None]] = {
    "add_scalar": _scalar,
    "add_scalars": _scalars,
    "add_text": _text,
    "add_figure": _figure,
    "add_hparams": _hparams,
}
