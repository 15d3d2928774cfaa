"""``naiad.neptune``: code written for the ``neptune`` 1.x client logs into naiad.

Rewrite the imports, nothing else: ``import neptune`` becomes ``import naiad.neptune as
neptune``, ``import neptune.new as neptune`` becomes ``import naiad.neptune.new as neptune``,
``from neptune.types import File`` becomes ``from naiad.neptune.types import File``. Each
call maps onto :class:`naiad.Run`; where Neptune 1.x behaved differently (an unsupported
value warned and skipped, a step that goes back dropped), the difference lives here and the
core stays strict.

Example:
    >>> import naiad.neptune as neptune
    >>> run = neptune.init_run(project="team/seabird")  # doctest: +SKIP
    >>> run["train/loss"].append(0.5)  # doctest: +SKIP
"""

from __future__ import annotations

from . import exceptions, types, utils
from ._handle import Handle
from ._install import install, install_from_env, uninstall
from ._models import Model, ModelVersion, init_model, init_model_version
from ._project import Project, init_project
from ._run import Run, init_run
from ._values import NeptuneUnsupportedType, NeptuneWarning

ANONYMOUS_API_TOKEN = "ANONYMOUS"  # accepted like any token, and ignored
__version__ = "1.13.0"  # the neptune client release whose API this layer mirrors

__all__ = [
    "ANONYMOUS_API_TOKEN",
    "Handle",
    "Model",
    "ModelVersion",
    "NeptuneUnsupportedType",
    "NeptuneWarning",
    "Project",
    "Run",
    "__version__",
    "exceptions",
    "init_model",
    "init_model_version",
    "init_project",
    "init_run",
    "install",
    "install_from_env",
    "types",
    "uninstall",
    "utils",
]
