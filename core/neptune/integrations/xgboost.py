"""``neptune.integrations.xgboost.NeptuneCallback``: an XGBoost training callback logging into a run.

``xgb.train(params, dtrain, evals=[(dtrain, "train"), (dval, "valid")],
callbacks=[NeptuneCallback(run=run)])`` logs, under ``base_namespace`` (default ``training``):

- ``booster_config`` (the booster's JSON configuration, as a namespace of strings; its
  lists as their ``str()``) before the first iteration;
- per iteration (step = the iteration number): ``<eval name>/<metric>`` for every entry of
  ``evals`` and every metric (``train/rmse``, ``valid/mae``); ``xgb.cv`` gives
  ``<eval name>/<metric>/{mean,std}``; ``epoch`` and ``learning_rate`` (which
  ``LearningRateScheduler`` may change);
- after training: ``pickled_model`` (the pickled booster, ``pickle.loads`` gives it back;
  ``xgb.cv`` logs ``fold_<i>/pickled_model`` per fold), ``early_stopping/{best_score,
  best_iteration}`` when early stopping ran, with ``log_importance``
  ``feature_importance/{weight,gain}`` (per feature) and the ``plots/importance`` PNG
  (matplotlib), and with ``log_tree=[0, 1]`` those trees' text dumps as ``trees/tree_<i>``.
  Neptune drew the trees as images with graphviz; naiad stores XGBoost's own text dump
  instead (graphviz is a system program, not a Python package).

The callback is an ``xgboost.callback.TrainingCallback``, so it also works with the
scikit-learn API (``XGBRegressor(callbacks=[...])``). A storage fault never stops training.

Example:
    >>> from naiad.neptune.integrations.xgboost import NeptuneCallback
    >>> callback = NeptuneCallback(run=run, log_tree=[0, 1])
    >>> xgb.train(params, dtrain, evals=[(dtrain, "train")], callbacks=[callback])  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import xgboost as xgb

from .. import _values as v
from ..types import File
from ..utils import stringify_unsupported
from ._shared import charts, safely

__all__ = ["NeptuneCallback"]


class NeptuneCallback(xgb.callback.TrainingCallback):
    """Log an XGBoost training's metrics, configuration, model and feature importance.

    Args:
        run: a run from ``init_run`` or a namespace handle (``run["xgb"]``).
        base_namespace: where everything goes, under ``run``.
        log_model: upload the pickled booster after training.
        log_importance: store the feature importance (and its chart) after training.
        max_num_features: how many features the importance chart shows.
        log_tree: the indices of the trees whose text dumps are stored.
        tree_figsize: accepted for Neptune's signature (trees are stored as text).
    """

    def __init__(
        self,
        run: Any,
        base_namespace: str = "training",
        log_model: bool = True,
        log_importance: bool = True,
        max_num_features: int | None = 10,
        log_tree: Sequence[int] | None = None,
        tree_figsize: int = 30,
    ) -> None:
        super().__init__()
        self._root = run[base_namespace] if base_namespace else run
        self._log_model = log_model
        self._log_importance = log_importance
        self._max_num_features = max_num_features
        self._log_tree = list(log_tree or ())

    def before_training(self, model: Any) -> Any:
        """Store the booster's configuration (``xgb.cv`` has none: one booster per fold)."""
        if hasattr(model, "save_config"):
            config = self._root["booster_config"]
            safely(
                "XGBoost",
                "the booster configuration",
                lambda: config.assign(stringify_unsupported(_config(model))),
            )
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[Any]]]) -> bool:
        """Append this iteration's metrics, epoch and learning rate; never ask to stop."""
        step = float(epoch)
        for stage, metrics in evals_log.items():
            for metric, values in metrics.items():
                last = values[-1]
                if isinstance(last, tuple):  # xgb.cv: (mean, std) over the folds
                    self._root[stage][metric].append({"mean": last[0], "std": last[1]}, step=step)
                else:
                    self._root[stage][metric].append(float(last), step=step)
        self._root["epoch"].append(epoch, step=step)
        if hasattr(model, "save_config"):
            safely(
                "XGBoost",
                "the learning rate",
                lambda: self._root["learning_rate"].append(_eta(model), step=step),
            )
        return False

    def after_training(self, model: Any) -> Any:
        """Store the model, the early-stopping result, the feature importance and the trees."""
        folds = getattr(model, "cvfolds", None)
        boosters = [(self._root, model)] if folds is None else self._fold_boosters(folds)
        if self._log_model:
            for root, booster in boosters:
                safely(
                    "XGBoost",
                    "the pickled model",
                    functools.partial(_upload_pickle, root, booster),
                )
        if folds is None:
            safely("XGBoost", "the early-stopping result", lambda: self._log_early_stopping(model))
            if self._log_importance:
                safely("XGBoost", "the feature importance", lambda: self._log_feature_importance(model))
            if self._log_tree:
                safely("XGBoost", "the trees", lambda: self._log_trees(model))
        return model

    def _fold_boosters(self, folds: Any) -> list[tuple[Any, Any]]:
        return [(self._root[f"fold_{i}"], fold.bst) for i, fold in enumerate(folds)]

    def _log_early_stopping(self, booster: Any) -> None:
        best_score, best_iteration = booster.attr("best_score"), booster.attr("best_iteration")
        if best_score is not None and best_iteration is not None:
            self._root["early_stopping"] = {
                "best_score": float(best_score),
                "best_iteration": int(best_iteration),
            }

    def _log_feature_importance(self, booster: Any) -> None:
        for kind in ("weight", "gain"):
            scores = booster.get_score(importance_type=kind)
            self._root["feature_importance"][kind] = {str(k): float(s) for k, s in scores.items()}
        plots = charts("the XGBoost importance chart", _importance_chart, booster, self._max_num_features)
        if plots:
            self._root["plots"] = plots

    def _log_trees(self, booster: Any) -> None:
        dump = booster.get_dump(with_stats=True)
        for index in self._log_tree:
            if 0 <= index < len(dump):
                self._root["trees"][f"tree_{index}"].upload(File.from_content(dump[index], extension="txt"))
            else:
                v.warn(f"log_tree: the booster has {len(dump)} trees, none at index {index}; it was skipped.")


def _upload_pickle(root: Any, booster: Any) -> None:
    root["pickled_model"].upload(File.as_pickle(booster))


def _config(booster: Any) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(booster.save_config())
    return loaded


def _eta(booster: Any) -> float:
    """The booster's learning rate now (a scheduler may have changed it this iteration)."""
    return float(_config(booster)["learner"]["gradient_booster"]["tree_train_param"]["learning_rate"])


def _importance_chart(plt: Any, booster: Any, max_num_features: int | None) -> dict[str, Any]:
    ax = xgb.plot_importance(booster, max_num_features=max_num_features)
    return {"importance": ax.figure}
