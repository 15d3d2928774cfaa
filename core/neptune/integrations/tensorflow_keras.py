"""``neptune.integrations.tensorflow_keras.NeptuneCallback`` over naiad's Keras 3 callback.

``model.fit(..., callbacks=[NeptuneCallback(run=run, base_namespace="training")])`` logs into
the script's run under naiad's standardized paths, rooted at ``base_namespace``
(``training/train/<metric>`` per batch, ``training/train_epoch/<metric>`` and
``training/val/<metric>`` per epoch, ``training/hyperparams/...``, ``training/model/summary``),
not under Neptune's ``<base_namespace>/{batch,epoch}/...`` layout. ``log_model_diagram``
and ``log_on_batch`` are accepted: naiad stores the model summary (text) and batch metrics
either way. Keras 3 only (``import keras``), as naiad's own callback.

Example:
    >>> from naiad.neptune.integrations.tensorflow_keras import NeptuneCallback
    >>> model.fit(x, y, epochs=2, callbacks=[NeptuneCallback(run=run)])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, cast

from naiad.integrations.keras import NaiadCallback

from .._run import Run

__all__ = ["NeptuneCallback"]


class NeptuneCallback(NaiadCallback):
    """A Keras callback with Neptune's arguments, logging into the run it is given."""

    def __init__(
        self,
        run: Run,
        base_namespace: str = "training",
        log_model_diagram: bool = False,
        log_on_batch: bool = False,
        log_model_summary: bool = True,
    ) -> None:
        # Any: mypy reads naiad.integrations from the installed package, naiad.Run from core/
        super().__init__(run=cast(Any, run.naiad_run), root=base_namespace)
        self.neptune_run = run
