"""Neptune 1.x's model registry (``init_model``, ``init_model_version``) as naiad runs.

naiad has no separate model objects. A model is a run whose custom id is the model's id
(``MOD``); each version is a run ``MOD-1``, ``MOD-2``..., with the registry's facts under
``model_registry/``: ``kind`` (``model`` / ``model_version``), ``model`` (the model's id)
and ``stage``. Neptune's read-only ``sys/stage`` reads ``model_registry/stage``. Models and
versions are runs, so they are listed with the project's runs as well.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import RunNotFound, query
from ._handle import Handle
from ._project import Table, neptune_project, quoted, runs_table
from ._run import Run

__all__ = ["Model", "ModelVersion", "init_model", "init_model_version"]

KIND, MODEL, STAGE = "model_registry/kind", "model_registry/model", "model_registry/stage"
STAGES = ("none", "staging", "production", "archived")


class Model(Run):
    """A registered model (a run); its versions are runs that name it in ``model_registry/model``."""

    def fetch_model_versions_table(self, *, columns: Iterable[str] | None = None, **kwargs: Any) -> Table:
        """One row per version, newest first, ``sys/id`` and ``model_registry/stage`` among the columns."""
        wanted = None if columns is None else [STAGE, *columns]
        condition = f"{MODEL} == {quoted(self._naiad.run_id)}"
        return runs_table(self._naiad.project, [condition], wanted)


class ModelVersion(Run):
    """One version of a model (a run), with a stage."""

    def __getitem__(self, path: str) -> Handle:
        return Handle(self, STAGE if path.strip("/") == "sys/stage" else path)

    def change_stage(self, stage: str) -> None:
        """Move the version to ``none``, ``staging``, ``production`` or ``archived``."""
        if stage not in STAGES:
            raise ValueError(f"stage must be one of {', '.join(STAGES)} (was {stage!r})")
        self[STAGE] = stage
        self.wait()


def _model_id(model: str, project: str | None) -> str:
    """The model run's id for a script's ``model=``: exact, else its key after the old project key."""
    for candidate in dict.fromkeys((model, model.rsplit("-", 1)[-1])):
        if query.list_runs(filter=f"sys/custom_run_id == {quoted(candidate)}", project=project):
            return candidate
    raise RunNotFound(
        f"No model '{model}' in project '{project or 'default'}'. Create it with init_model(key=...)."
    )


def init_model(with_id: str | None = None, *, key: str | None = None, **kwargs: Any) -> Model:
    """Create the model ``key`` (its id is ``key`` upper-cased), or reopen one with ``with_id``."""
    if with_id is not None:
        return Model(_model_id(with_id, neptune_project(kwargs.get("project"))), **kwargs)
    if not key:
        raise ValueError("init_model needs key='...' (a new model) or with_id='...' (an existing one)")
    model = Model(custom_run_id=key.upper(), **kwargs)
    model[KIND] = "model"
    return model


def init_model_version(
    with_id: str | None = None, *, model: str | None = None, **kwargs: Any
) -> ModelVersion:
    """Create the next version of ``model`` (stage ``none``), or reopen one with ``with_id``."""
    if with_id is not None:
        return ModelVersion(with_id, **kwargs)
    if not model:
        raise ValueError("init_model_version needs model='...' (a new version) or with_id='...'")
    project = neptune_project(kwargs.get("project"))
    model_id = _model_id(model, project)
    count = len(query.list_runs(filter=f"{MODEL} == {quoted(model_id)}", project=project))
    version = ModelVersion(custom_run_id=f"{model_id}-{count + 1}", **kwargs)
    version.assign({KIND: "model_version", MODEL: model_id, STAGE: "none"})
    return version
