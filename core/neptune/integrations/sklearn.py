"""``neptune.integrations.sklearn``: Neptune's scikit-learn summaries, as dicts a script assigns.

``run["rfc"] = npt_utils.create_classifier_summary(model, X_train, X_test, y_train, y_test)``
stores, under ``rfc/``:

- ``all_params`` (the estimator's ``get_params()``, unsupported values as strings),
  ``pickled_model`` (a ``.pkl`` file), ``integration/about/neptune-sklearn`` (the layer's
  version);
- ``test/preds`` (and ``test/preds_proba`` for a classifier with ``predict_proba``): the
  first ``nrows`` rows as an HTML table; ``test/scores``: a regressor's
  ``explained_variance_score``, ``max_error``, ``mean_absolute_error``, ``r2_score``; a
  classifier's ``class_<label>/{precision,recall,fbeta_score,support}``;
- ``diagnostics_charts/*`` when ``log_charts`` and matplotlib is installed: a classifier's
  ``confusion_matrix``, a regressor's ``prediction_error`` and ``residuals``, k-means'
  ``cluster_sizes`` (PNGs). Neptune drew more charts with yellowbrick and scikit-plot;
  those are not drawn here.

scikit-learn is imported inside each function, never at import.

Example:
    >>> import naiad.neptune.integrations.sklearn as npt_utils
    >>> summary = npt_utils.create_regressor_summary(rfr, X_train, X_test, y_train, y_test)  # doctest: +SKIP
    >>> run["summary"] = summary  # doctest: +SKIP
"""

# ruff: noqa: N803 - scikit-learn's argument names (X_train, X_test), which scripts pass by keyword
from __future__ import annotations

from typing import Any

from ... import __version__
from ..types import File
from ..utils import stringify_unsupported
from ._shared import charts

__all__ = [
    "create_classifier_summary",
    "create_kmeans_summary",
    "create_regressor_summary",
    "get_cluster_labels",
    "get_estimator_params",
    "get_pickled_model",
    "get_scores",
    "get_test_preds",
    "get_test_preds_proba",
]

_DIAGNOSTICS = "the scikit-learn diagnostics charts"


def _about() -> dict[str, Any]:
    return {"about": {"neptune-sklearn": f"naiad {__version__}"}}


def get_estimator_params(estimator: Any) -> dict[str, Any]:
    """The estimator's parameters (``get_params()``)."""
    params: dict[str, Any] = estimator.get_params()
    return params


def get_pickled_model(estimator: Any) -> File:
    """The estimator, pickled."""
    return File.as_pickle(estimator)


def get_test_preds(estimator: Any, X_test: Any, y_test: Any, y_pred: Any = None, nrows: int = 1000) -> File:
    """The first ``nrows`` test predictions beside the truth, as an HTML table."""
    import pandas as pd

    if y_pred is None:
        y_pred = estimator.predict(X_test)
    frame = pd.DataFrame({"y_true": list(y_test)[:nrows], "y_pred": list(y_pred)[:nrows]})
    return File.as_html(frame)


def get_test_preds_proba(
    classifier: Any, X_test: Any = None, y_pred_proba: Any = None, nrows: int = 1000
) -> File | None:
    """The first ``nrows`` predicted class probabilities, as an HTML table (``None`` without them)."""
    import pandas as pd

    if y_pred_proba is None:
        if not hasattr(classifier, "predict_proba"):
            return None
        y_pred_proba = classifier.predict_proba(X_test)
    columns = [str(c) for c in getattr(classifier, "classes_", range(len(y_pred_proba[0])))]
    return File.as_html(pd.DataFrame(list(y_pred_proba)[:nrows], columns=columns))


def _is_classifier(estimator: Any) -> bool:
    return getattr(estimator, "_estimator_type", None) == "classifier" or hasattr(estimator, "classes_")


def get_scores(estimator: Any, X: Any, y: Any, y_pred: Any = None) -> dict[str, Any]:
    """Test scores: a regressor's four, or a classifier's precision, recall, F-beta and support per class."""
    from sklearn import metrics

    if y_pred is None:
        y_pred = estimator.predict(X)
    if _is_classifier(estimator):
        labels = sorted(set(list(y)) | set(list(y_pred)))
        precision, recall, fbeta, support = metrics.precision_recall_fscore_support(
            y, y_pred, labels=labels, zero_division=0
        )
        return {
            f"class_{label}": {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "fbeta_score": float(fbeta[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        }
    return {
        "explained_variance_score": float(metrics.explained_variance_score(y, y_pred)),
        "max_error": float(metrics.max_error(y, y_pred)),
        "mean_absolute_error": float(metrics.mean_absolute_error(y, y_pred)),
        "r2_score": float(metrics.r2_score(y, y_pred)),
    }


def _classifier_charts(plt: Any, y_true: Any, y_pred: Any) -> dict[str, Any]:
    from sklearn.metrics import ConfusionMatrixDisplay

    display = ConfusionMatrixDisplay.from_predictions(y_true, y_pred)
    return {"confusion_matrix": display.figure_}


def _regressor_charts(plt: Any, y_true: Any, y_pred: Any) -> dict[str, Any]:
    truth, pred = list(y_true), list(y_pred)
    error, ax = plt.subplots()
    ax.scatter(truth, pred, s=8)
    ax.set(xlabel="y_true", ylabel="y_pred", title="Prediction error")
    residuals, ax2 = plt.subplots()
    ax2.scatter(pred, [t - p for t, p in zip(truth, pred, strict=False)], s=8)
    ax2.axhline(0.0, color="grey")
    ax2.set(xlabel="y_pred", ylabel="residual", title="Residuals")
    return {"prediction_error": error, "residuals": residuals}


def _kmeans_charts(plt: Any, labels: Any) -> dict[str, Any]:
    counts: dict[Any, int] = {}
    for label in list(labels):
        counts[label] = counts.get(label, 0) + 1
    fig, ax = plt.subplots()
    keys = sorted(counts)
    ax.bar([str(k) for k in keys], [counts[k] for k in keys])
    ax.set(xlabel="cluster", ylabel="samples", title="Cluster sizes")
    return {"cluster_sizes": fig}


def create_regressor_summary(
    regressor: Any,
    X_train: Any,
    X_test: Any,
    y_train: Any,
    y_test: Any,
    nrows: int = 1000,
    log_charts: bool = True,
) -> dict[str, Any]:
    """A fitted regressor's parameters, pickle, test predictions, scores and charts."""
    y_pred = regressor.predict(X_test)
    summary: dict[str, Any] = {
        "all_params": stringify_unsupported(get_estimator_params(regressor)),
        "pickled_model": get_pickled_model(regressor),
        "integration": _about(),
        "test": {
            "preds": get_test_preds(regressor, X_test, y_test, y_pred=y_pred, nrows=nrows),
            "scores": get_scores(regressor, X_test, y_test, y_pred=y_pred),
        },
    }
    if log_charts:
        summary["diagnostics_charts"] = charts(_DIAGNOSTICS, _regressor_charts, y_test, y_pred)
    return summary


def create_classifier_summary(
    classifier: Any,
    X_train: Any,
    X_test: Any,
    y_train: Any,
    y_test: Any,
    nrows: int = 1000,
    log_charts: bool = True,
) -> dict[str, Any]:
    """A fitted classifier's parameters, pickle, test predictions (and probabilities), scores and charts."""
    y_pred = classifier.predict(X_test)
    test: dict[str, Any] = {
        "preds": get_test_preds(classifier, X_test, y_test, y_pred=y_pred, nrows=nrows),
        "scores": get_scores(classifier, X_test, y_test, y_pred=y_pred),
    }
    proba = get_test_preds_proba(classifier, X_test, nrows=nrows)
    if proba is not None:
        test["preds_proba"] = proba
    summary: dict[str, Any] = {
        "all_params": stringify_unsupported(get_estimator_params(classifier)),
        "pickled_model": get_pickled_model(classifier),
        "integration": _about(),
        "test": test,
    }
    if log_charts:
        summary["diagnostics_charts"] = charts(_DIAGNOSTICS, _classifier_charts, y_test, y_pred)
    return summary


def get_cluster_labels(model: Any, X: Any, nrows: int = 1000, **kwargs: Any) -> File:
    """The first ``nrows`` cluster labels of ``X`` (the model refitted with ``kwargs``), as HTML."""
    import pandas as pd

    model.set_params(**kwargs)
    labels = model.fit_predict(X)
    return File.as_html(pd.DataFrame({"cluster": list(labels)[:nrows]}))


def create_kmeans_summary(model: Any, X: Any, nrows: int = 1000, **kwargs: Any) -> dict[str, Any]:
    """A k-means model refitted on ``X`` with ``kwargs``: parameters, cluster labels and a chart."""
    model.set_params(**kwargs)
    labels = model.fit_predict(X)
    import pandas as pd

    return {
        "all_params": stringify_unsupported(get_estimator_params(model)),
        "cluster_labels": File.as_html(pd.DataFrame({"cluster": list(labels)[:nrows]})),
        "integration": _about(),
        "diagnostics_charts": charts(_DIAGNOSTICS, _kmeans_charts, labels),
    }
