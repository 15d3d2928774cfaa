"""naiad: a local-first experiment tracker with Neptune's data model, in a store you own.

Example:
    >>> import naiad
    >>> with naiad.Run(experiment_name="seabird") as run:  # doctest: +SKIP
    ...     run["params/lr"] = 0.001
    ...     run.log_metrics({"train/loss": 0.5}, step=1)
"""

from __future__ import annotations

from ._files import File
from ._handle import Handle
from ._run import Run
from ._types import FieldType, Histogram, stringify
from .errors import (
    ConfigError,
    FieldNotFound,
    FieldTypeError,
    FieldValueError,
    ForkParentNotFound,
    ModeError,
    NaiadError,
    NaiadWarning,
    PathError,
    ReadOnlyFieldError,
    RunNotFound,
    SchemaVersionError,
    StepOrderError,
    StorageError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "FieldNotFound",
    "FieldType",
    "FieldTypeError",
    "FieldValueError",
    "File",
    "ForkParentNotFound",
    "Handle",
    "Histogram",
    "ModeError",
    "NaiadError",
    "NaiadWarning",
    "PathError",
    "ReadOnlyFieldError",
    "Run",
    "RunNotFound",
    "SchemaVersionError",
    "StepOrderError",
    "StorageError",
    "__version__",
    "stringify",
]


def _register_integrations() -> None:
    """transformers has no plugin registry: when it is already imported, register report_to="naiad".

    Cheap: naiad.integrations.transformers imports neither transformers nor torch.
    """
    import contextlib
    import importlib
    import sys

    if sys.modules.get("transformers") is not None:
        with contextlib.suppress(Exception):  # an optional integration never breaks `import naiad`
            importlib.import_module("naiad.integrations.transformers")


_register_integrations()
del _register_integrations
