"""``neptune.integrations.optuna``: Neptune's Optuna callback, writing through the layer's run.

``study.optimize(objective, callbacks=[NeptuneCallback(run)])`` logs, under
``base_namespace`` (default: the run's root):

- ``trials/values`` (series, one point per finished trial, step = trial number; a
  multi-objective study has ``trials/values/<target name>``), and each trial's
  ``trials/trials/<number>/{value,params,state,datetime_start,datetime_complete,duration,
  distributions,intermediate_values}``;
- ``best/value``, ``best/params``, ``best/trial`` (the best trial's number) after every
  trial, and ``best/values`` (series: the best value so far, step = trial number);
- ``study/{study_name,directions,distributions,storage_type}`` once, and ``study/study``
  (the pickled study) every ``study_update_freq`` trials for an in-memory study, which
  :func:`load_study_from_run` reads back;
- with ``visualization_backend="matplotlib"`` (and matplotlib installed), the
  ``visualizations/plot_*`` PNGs from ``optuna.visualization.matplotlib`` every
  ``plots_update_freq`` trials. Neptune's default backend, plotly, is used when plotly is
  installed; without it no plot is drawn (a warning says so once).

Example:
    >>> import naiad.neptune.integrations.optuna as npt_utils
    >>> study.optimize(objective, n_trials=20, callbacks=[npt_utils.NeptuneCallback(run)])  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import pickle
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import _values as v
from ..types import File
from ..utils import stringify_unsupported

__all__ = ["NeptuneCallback", "load_study_from_run", "log_study_metadata"]

_PLOTS = (
    "optimization_history",
    "contour",
    "edf",
    "parallel_coordinate",
    "param_importances",
    "pareto_front",
    "slice",
    "intermediate_values",
)


class NeptuneCallback:
    """An Optuna callback that logs each trial, the best trial so far, and the study.

    Args:
        run: a run from ``init_run`` or a namespace handle (``run["hpo"]``).
        base_namespace: where everything goes, under ``run``.
        plots_update_freq: draw plots every n trials (``"never"``: not at all).
        study_update_freq: upload the pickled study every n trials (``"never"``: not at all).
        visualization_backend: ``"plotly"`` (HTML) or ``"matplotlib"`` (PNG).
        log_plot_*: which of Optuna's plots to draw.
        target_names: names of a multi-objective study's values (default ``"0"``, ``"1"``...).
        log_all_trials: log every trial's facts, not only the values series and the best.
    """

    def __init__(
        self,
        run: Any,
        base_namespace: str = "",
        plots_update_freq: int | str = 1,
        study_update_freq: int | str = 1,
        visualization_backend: str = "plotly",
        log_plot_contour: bool = True,
        log_plot_edf: bool = True,
        log_plot_parallel_coordinate: bool = True,
        log_plot_param_importances: bool = True,
        log_plot_pareto_front: bool = True,
        log_plot_slice: bool = True,
        log_plot_intermediate_values: bool = True,
        log_plot_optimization_history: bool = True,
        target_names: Sequence[str] | None = None,
        log_all_trials: bool = True,
    ) -> None:
        if visualization_backend not in ("plotly", "matplotlib"):
            raise ValueError(
                f"visualization_backend must be 'plotly' or 'matplotlib' (was {visualization_backend!r})"
            )
        self._root = run[base_namespace] if base_namespace else run
        self._plots_freq = plots_update_freq
        self._study_freq = study_update_freq
        self._backend = visualization_backend
        wanted = {
            "optimization_history": log_plot_optimization_history,
            "contour": log_plot_contour,
            "edf": log_plot_edf,
            "parallel_coordinate": log_plot_parallel_coordinate,
            "param_importances": log_plot_param_importances,
            "pareto_front": log_plot_pareto_front,
            "slice": log_plot_slice,
            "intermediate_values": log_plot_intermediate_values,
        }
        self._plots = [name for name in _PLOTS if wanted[name]]
        self._target_names = list(target_names) if target_names is not None else None
        self._log_all = log_all_trials
        self._study_logged = False
        self._warned_plots = False

    def __call__(self, study: Any, trial: Any) -> None:
        if not self._study_logged:
            _log_study_facts(self._root, study)
            self._study_logged = True
        _log_trial(self._root, study, trial, self._target_names, self._log_all)
        _log_best(self._root, study, trial.number)
        if _due(self._study_freq, trial.number):
            _log_study_pickle(self._root, study)
        if _due(self._plots_freq, trial.number):
            self._warned_plots = _log_plots(self._root, study, self._backend, self._plots, self._warned_plots)


def _due(freq: int | str, number: int) -> bool:
    return isinstance(freq, int) and freq > 0 and number % freq == 0


def _names(study: Any, target_names: list[str] | None) -> list[str]:
    count = len(study.directions)
    return target_names if target_names is not None else [str(i) for i in range(count)]


def _log_study_facts(root: Any, study: Any) -> None:
    storage = type(study._storage).__name__
    root["study"] = {
        "study_name": study.study_name,
        "directions": str([d.name for d in study.directions]),
        "storage_type": storage,
    }
    if study.user_attrs:
        root["study/user_attrs"] = stringify_unsupported(study.user_attrs)


def _log_trial(root: Any, study: Any, trial: Any, target_names: list[str] | None, log_all: bool) -> None:
    number = trial.number
    values = trial.values
    if values is not None:
        if len(values) == 1:
            root["trials/values"].append(values[0], step=number)
        else:
            for name, value in zip(_names(study, target_names), values, strict=False):
                root[f"trials/values/{name}"].append(value, step=number)
    if not log_all:
        return
    facts: dict[str, Any] = {
        "state": trial.state.name,
        "params": stringify_unsupported(trial.params),
        "distributions": {k: str(d) for k, d in trial.distributions.items()},
    }
    if values is not None:
        facts["value"] = (
            values[0] if len(values) == 1 else dict(zip(_names(study, target_names), values, strict=False))
        )
    for key in ("datetime_start", "datetime_complete"):
        stamp = getattr(trial, key, None)
        if stamp is not None:
            facts[key] = stamp
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        facts["duration"] = (trial.datetime_complete - trial.datetime_start).total_seconds()
    root[f"trials/trials/{number}"] = facts
    if trial.intermediate_values:
        series = root[f"trials/trials/{number}/intermediate_values"]
        for step, value in sorted(trial.intermediate_values.items()):
            series.append(value, step=step)
    if trial.user_attrs:
        root[f"trials/trials/{number}/user_attrs"] = stringify_unsupported(trial.user_attrs)


def _log_best(root: Any, study: Any, number: int) -> None:
    if len(study.directions) > 1:  # a Pareto front has no single best trial
        front = study.best_trials
        root["best/trials"] = str([t.number for t in front])
        return
    with contextlib.suppress(ValueError):  # no trial has finished yet
        _set_best(root, study.best_trial, number)


def _set_best(root: Any, best: Any, number: int) -> None:
    if root["best/params"].exists():  # a new best's params never mix with the old one's
        root["best/params"].pop()
    root["best"] = {"value": best.value, "params": stringify_unsupported(best.params), "trial": best.number}
    root["best/values"].append(best.value, step=number)


def _log_study_pickle(root: Any, study: Any) -> None:
    if type(study._storage).__name__ != "InMemoryStorage":  # a database study is found by its URL
        return
    try:
        data = pickle.dumps(study)
    except Exception as e:  # a study that cannot be pickled is logged without its pickle
        v.warn(f"The study could not be pickled for 'study/study' ({e}); it was not uploaded.")
        return
    root["study/study"].upload(File(content=data, extension="pkl"))


def _log_plots(root: Any, study: Any, backend: str, plots: list[str], warned: bool) -> bool:
    module_name = "optuna.visualization.matplotlib" if backend == "matplotlib" else "optuna.visualization"
    needs = "matplotlib" if backend == "matplotlib" else "plotly"
    if importlib.util.find_spec(needs) is None:
        if not warned:
            v.warn(f"{needs} is not installed: no Optuna plot is drawn (visualization_backend={backend!r}).")
        return True
    visualization = importlib.import_module(module_name)
    multi = len(study.directions) > 1
    for name in plots:
        if (name == "pareto_front") != multi and name in ("pareto_front", "optimization_history"):
            continue  # a Pareto front needs several objectives; a history, one
        draw = getattr(visualization, f"plot_{name}", None)
        if draw is None:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # optuna marks its matplotlib plots experimental
                drawn = draw(study)
            if backend == "matplotlib":
                if hasattr(drawn, "flat"):  # a grid of Axes (one per parameter)
                    drawn = next(iter(drawn.flat))
                figure = getattr(drawn, "figure", drawn)  # matplotlib returns Axes
                file = File.as_image(figure)
                import matplotlib.pyplot as plt

                plt.close(figure)
            else:
                file = File.as_html(drawn)
        except Exception:  # a plot the study cannot have yet (one param, no pruning) is skipped
            continue
        root[f"visualizations/plot_{name}"].upload(file)
    return warned


def log_study_metadata(
    study: Any,
    run: Any,
    base_namespace: str = "",
    log_plots: bool = True,
    log_study: bool = True,
    log_all_trials: bool = True,
    log_distributions: bool = True,
    visualization_backend: str = "plotly",
    target_names: Sequence[str] | None = None,
    **log_plot_flags: bool,
) -> None:
    """Log a finished study at once: every trial, the best, the study and (optionally) the plots."""
    root = run[base_namespace] if base_namespace else run
    names = list(target_names) if target_names is not None else None
    _log_study_facts(root, study)
    for trial in study.trials:
        _log_trial(root, study, trial, names, log_all_trials)
        _log_best_until(root, study, trial.number)
    if log_study:
        _log_study_pickle(root, study)
    if log_plots:
        plots = [name for name in _PLOTS if log_plot_flags.get(f"log_plot_{name}", True)]
        _log_plots(root, study, visualization_backend, plots, False)


def _log_best_until(root: Any, study: Any, number: int) -> None:
    """The best trial among those up to ``number``, as the callback would have logged it then."""
    if len(study.directions) > 1:
        _log_best(root, study, number)
        return
    done = [t for t in study.trials[: number + 1] if t.value is not None and t.state.name == "COMPLETE"]
    if not done:
        return
    pick = max if study.direction.name == "MAXIMIZE" else min
    _set_best(root, pick(done, key=lambda t: t.value), number)


def load_study_from_run(run: Any) -> Any:
    """The study a run (or a namespace handle, ``run["hpo"]``) logged, unpickled from ``study/study``."""
    field = run["study/study"]
    if not field.exists():
        raise ValueError("No pickled study at 'study/study' here (only in-memory studies are pickled).")
    with tempfile.TemporaryDirectory() as tmp:
        field.download(tmp)
        (got,) = Path(tmp).iterdir()
        data = got.read_bytes()
    return pickle.loads(data)  # the user's own study, from the user's own store
