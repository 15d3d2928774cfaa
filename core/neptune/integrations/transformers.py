"""``neptune.integrations.transformers.NeptuneCallback`` over naiad's transformers callback.

Neptune's module re-exported transformers' own ``NeptuneCallback``, which imports ``neptune``
itself (that path works through :func:`naiad.neptune.install`). This one needs no opt-in: it
is :class:`naiad.integrations.transformers.NaiadCallback` taking Neptune's arguments.
``base_namespace`` (default ``finetuning``) is the root of naiad's standardized paths
(``finetuning/train/loss``, ``finetuning/hyperparams/...``, ``finetuning/checkpoints/...``);
``name`` is the experiment; ``run`` an open run from ``init_run``; ``log_checkpoints``
``"last"`` / ``"best"`` upload that checkpoint, ``"same"`` both, ``None`` none (paths are
always recorded); ``tags``, ``description``, ``mode``, ``custom_run_id`` and ``with_id`` go to
the run. ``NeptuneCallback.get_run(trainer)`` and ``callback.neptune_run`` give the Neptune-style run
(``callback.run`` is naiad's :class:`naiad.Run`, whose ``run["a/b"] = v`` is the same syntax).

transformers (and torch) load on first use of ``NeptuneCallback``, not at import.

Example:
    >>> from naiad.neptune.integrations.transformers import NeptuneCallback
    >>> trainer = Trainer(model, args, callbacks=[NeptuneCallback(name="bert-tiny")])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .._run import MODES, Run, _resolve_id

if TYPE_CHECKING:
    from naiad.integrations.transformers import NaiadCallback

    class NeptuneCallback(NaiadCallback): ...


__all__ = ["NeptuneCallback"]

_CHECKPOINTS: dict[str | None, bool | str] = {None: False, "same": True, "last": "last", "best": "best"}


def _init(
    self: Any,
    *,
    api_token: str | None = None,
    project: str | None = None,
    name: str | None = None,
    base_namespace: str = "finetuning",
    run: Run | None = None,
    log_parameters: bool = True,
    log_checkpoints: str | None = None,
    **neptune_run_kwargs: Any,
) -> None:
    if log_checkpoints not in _CHECKPOINTS:
        raise ValueError(f"log_checkpoints must be None, 'same', 'last' or 'best' (was {log_checkpoints!r})")
    tags = neptune_run_kwargs.get("tags") or ()
    with_id = neptune_run_kwargs.get("with_id")
    mode = neptune_run_kwargs.get("mode")
    from naiad.integrations.transformers import NaiadCallback

    NaiadCallback.__init__(
        self,
        name,
        # Any: mypy reads naiad.integrations from the installed package, naiad.Run from core/
        run=None if run is None else cast(Any, run.naiad_run),
        run_id=_resolve_id(with_id, project) if with_id else neptune_run_kwargs.get("custom_run_id"),
        project=project,
        mode=None if mode is None else MODES[mode],
        tags=[tags] if isinstance(tags, str) else list(tags),
        description=neptune_run_kwargs.get("description"),
        log_checkpoints=_CHECKPOINTS[log_checkpoints],
        root=base_namespace,
    )


def _run(self: Any) -> Run:
    """The run with Neptune 1.x's lenient API (``callback.run`` stays naiad's strict :class:`naiad.Run`)."""
    if self.run is None:
        raise RuntimeError("The run starts with training: call trainer.train() first.")
    return Run.wrapping(self.run)


def _get_run(cls: type, trainer: Any) -> Run:
    """The run of the trainer's ``NeptuneCallback``."""
    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, cls):
            return _run(callback)
    raise RuntimeError("This trainer has no NeptuneCallback.")


_callback_class: type | None = None


def _build() -> type:
    global _callback_class
    if _callback_class is None:
        from naiad.integrations.transformers import NaiadCallback

        _callback_class = type(
            "NeptuneCallback",
            (NaiadCallback,),
            {
                "__module__": __name__,
                "__qualname__": "NeptuneCallback",
                "__doc__": __doc__,
                "__init__": _init,
                "get_run": classmethod(_get_run),
                "neptune_run": property(_run),
            },
        )
    return _callback_class


def __getattr__(name: str) -> Any:
    if name == "NeptuneCallback":
        return _build()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
