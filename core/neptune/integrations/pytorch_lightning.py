"""``neptune.integrations.pytorch_lightning.NeptuneLogger`` over naiad's Lightning logger.

Neptune's logger took a project, a name, an optional existing run, ``prefix`` (default
``training``) and ``log_model_checkpoints``; here each maps onto
:class:`naiad.integrations.lightning.NaiadLogger` (``prefix`` is its root namespace,
``log_model_checkpoints=True`` uploads every checkpoint file). ``logger.run`` is the
Neptune-style run; ``logger.experiment`` stays naiad's :class:`naiad.Run`.
"""

from __future__ import annotations

from typing import Any, cast

from naiad.integrations.lightning import NaiadLogger

from .._run import Run, _resolve_id

__all__ = ["NeptuneLogger"]


class NeptuneLogger(NaiadLogger):
    """A Lightning logger with Neptune's arguments, writing into the naiad store.

    Example:
        >>> from naiad.neptune.integrations.pytorch_lightning import NeptuneLogger
        >>> logger = NeptuneLogger(project="team/seabird", tags=["lightning"])  # doctest: +SKIP
        >>> trainer = pl.Trainer(logger=logger, max_epochs=2)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        project: str | None = None,
        name: str | None = None,
        run: Run | None = None,
        log_model_checkpoints: bool | None = True,
        prefix: str = "training",
        **neptune_run_kwargs: Any,
    ) -> None:
        tags = neptune_run_kwargs.pop("tags", None) or ()
        run_kwargs = {k: neptune_run_kwargs[k] for k in ("mode", "description") if k in neptune_run_kwargs}
        if run_kwargs.get("mode") == "debug":
            run_kwargs["mode"] = "disabled"
        with_id = neptune_run_kwargs.get("with_id")
        run_id = _resolve_id(with_id, project) if with_id else neptune_run_kwargs.get("custom_run_id")
        super().__init__(
            experiment_name=name,
            run_id=run_id,
            project=project,
            root=prefix,
            # Any: mypy reads naiad.integrations from the installed package, naiad.Run from core/
            run=None if run is None else cast(Any, run.naiad_run),
            tags=[tags] if isinstance(tags, str) else list(tags),
            log_model="all" if log_model_checkpoints else False,
            **run_kwargs,
        )

    @property
    def run(self) -> Run:
        """The run, with Neptune 1.x's API (``logger.run["eval/score"] = 0.9``)."""
        return Run.wrapping(self.experiment)
