"""``neptune.integrations.lightgbm``: Neptune's LightGBM callback and booster summary.

``lgb.train(params, train_set, valid_sets=[...], valid_names=["training", "validation"],
callbacks=[NeptuneCallback(run=run)])`` logs, under ``base_namespace`` (default: the run's root):

- once, at the first iteration: ``params`` (the training parameters, unsupported values as
  strings), ``feature_names`` (a string set) and ``train_set/{num_features,num_rows}``;
- per iteration (step = the iteration number): ``<valid name>/<metric>`` for every valid set
  and metric (``training/multi_logloss``, ``validation/multi_error``); ``lgb.cv`` gives
  ``<valid name>/<metric>/{mean,std}`` (over the folds).

``run["lgbm_summary"] = create_booster_summary(booster, ...)`` stores the returned dict:
``pickled_model`` (``pickle.loads`` gives the booster back), ``visualizations/
feature_importances/{split,gain}`` (matplotlib PNGs), ``trees_as_dataframe/tree_<i>`` (CSV,
with ``log_trees_as_dataframe``; all trees unless ``list_trees`` names some) and
``visualizations/confusion_matrix`` (with ``log_confusion_matrix``, ``y_true`` and ``y_pred``).
Neptune also drew trees with graphviz (``log_trees``), a system program naiad does not
require: the trees' CSV rows hold the same splits.

lightgbm is imported inside the functions that need it, never at import.

Example:
    >>> from naiad.neptune.integrations.lightgbm import NeptuneCallback, create_booster_summary
    >>> callbacks = [NeptuneCallback(run=run)]
    >>> gbm = lgb.train(params, train, valid_sets=[train], callbacks=callbacks)  # doctest: +SKIP
    >>> run["lgbm_summary"] = create_booster_summary(gbm, log_trees_as_dataframe=True)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _values as v
from ..types import File
from ..utils import stringify_unsupported
from ._shared import charts, safely

__all__ = ["NeptuneCallback", "create_booster_summary"]


class NeptuneCallback:
    """A LightGBM callback logging the parameters, the train set's facts and every evaluation.

    Args:
        run: a run from ``init_run`` or a namespace handle (``run["lgbm"]``).
        base_namespace: where everything goes, under ``run``.
    """

    order = 20  # LightGBM sorts callbacks by it: after its own log_evaluation (10)
    before_iteration = False

    def __init__(self, run: Any, base_namespace: str = "") -> None:
        self._root = run[base_namespace] if base_namespace else run
        self._started = False

    def __call__(self, env: Any) -> None:
        """Called by LightGBM after each iteration with its ``CallbackEnv``."""
        step = float(env.iteration)
        if not self._started:
            self._started = True
            safely("LightGBM", "the parameters and the train set", lambda: self._log_start(env))
        for entry in env.evaluation_result_list or ():
            data_name, metric, value = entry[0], entry[1], entry[2]
            if len(entry) > 4:  # lgb.cv: (valid, metric, mean, higher_better, std)
                # LightGBM 3 gave ("cv_agg", "<valid> <metric>", ...): keep the valid set's name
                prefix, _, metric = str(metric).rpartition(" ")
                self._root[prefix or data_name][metric].append(
                    {"mean": float(value), "std": float(entry[4])}, step=step
                )
            else:
                self._root[data_name][metric].append(float(value), step=step)

    def _log_start(self, env: Any) -> None:
        self._root["params"] = stringify_unsupported(dict(env.params))
        train_set: Any = getattr(env.model, "train_set", None)
        if hasattr(train_set, "get_feature_name"):  # lgb.cv's CVBooster answers any name with a function
            self._root["feature_names"].add([str(name) for name in train_set.get_feature_name()])
            self._root["train_set"] = {
                "num_features": int(train_set.num_feature()),
                "num_rows": int(train_set.num_data()),
            }


def create_booster_summary(
    booster: Any,
    log_importances: bool = True,
    max_num_features: int = 10,
    list_trees: Sequence[int] | None = None,
    log_trees_as_dataframe: bool = False,
    log_pickled_booster: bool = True,
    log_trees: bool = False,
    tree_figsize: int = 30,
    log_confusion_matrix: bool = False,
    y_true: Any = None,
    y_pred: Any = None,
) -> dict[str, Any]:
    """A trained booster's pickle, importance charts, trees and confusion matrix, as a dict to assign.

    Args:
        booster: a ``lightgbm.Booster`` or a fitted scikit-learn ``LGBMModel``.
        log_importances: draw the split and gain importance charts.
        max_num_features: how many features those charts show.
        list_trees: the trees to store (default: all).
        log_trees_as_dataframe: store those trees as CSV tables.
        log_pickled_booster: store the pickled booster.
        log_trees: accepted for Neptune's signature; the trees are not drawn (see the module).
        tree_figsize: accepted for Neptune's signature.
        log_confusion_matrix: draw the confusion matrix of ``y_true`` against ``y_pred``
            (class probabilities are turned into their most likely class).
        y_true: the true labels.
        y_pred: the predicted labels or class probabilities.
    """
    model = getattr(booster, "booster_", booster)  # the scikit-learn API wraps the booster
    summary: dict[str, Any] = {}
    visualizations: dict[str, Any] = {}
    if log_pickled_booster:
        summary["pickled_model"] = File.as_pickle(model)
    if log_importances:
        importances = charts("the LightGBM importance charts", _importance_charts, model, max_num_features)
        if importances:
            visualizations["feature_importances"] = importances
    if log_trees:
        v.warn(
            "create_booster_summary(log_trees=True): trees are not drawn (no graphviz); "
            "use log_trees_as_dataframe=True for their splits."
        )
    if log_trees_as_dataframe:
        summary["trees_as_dataframe"] = _trees_as_csv(model, list_trees)
    if log_confusion_matrix:
        if y_true is None or y_pred is None:
            raise ValueError("create_booster_summary(log_confusion_matrix=True) needs y_true and y_pred")
        matrix = charts("the LightGBM confusion matrix", _confusion_chart, y_true, y_pred)
        visualizations.update(matrix)
    if visualizations:
        summary["visualizations"] = visualizations
    return summary


def _importance_charts(plt: Any, booster: Any, max_num_features: int) -> dict[str, Any]:
    import lightgbm as lgb

    return {
        kind: lgb.plot_importance(booster, importance_type=kind, max_num_features=max_num_features).figure
        for kind in ("split", "gain")
    }


def _confusion_chart(plt: Any, y_true: Any, y_pred: Any) -> dict[str, Any]:
    from sklearn.metrics import ConfusionMatrixDisplay

    rows = [list(p) if hasattr(p, "__len__") else p for p in y_pred]
    labels = [max(range(len(r)), key=r.__getitem__) if isinstance(r, list) else r for r in rows]
    return {"confusion_matrix": ConfusionMatrixDisplay.from_predictions(list(y_true), labels).figure_}


def _trees_as_csv(booster: Any, list_trees: Sequence[int] | None) -> dict[str, File]:
    frame = booster.trees_to_dataframe()
    wanted = sorted(set(frame["tree_index"])) if list_trees is None else list(list_trees)
    return {
        f"tree_{i}": File.from_content(frame[frame["tree_index"] == i].to_csv(index=False), extension="csv")
        for i in wanted
    }
