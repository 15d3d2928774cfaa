"""``naiad.neptune.install()``: ``import neptune`` / ``import neptune_scale`` resolve to naiad's layers.

For code the user cannot edit (a framework's own Neptune callback imports ``neptune``
itself). A finder placed first on :data:`sys.meta_path` answers for ``neptune``,
``neptune.<sub>``, ``neptune_scale`` and ``neptune_scale.<sub>`` with the module of the same
name under ``naiad.``: one module object under both names, so ``isinstance`` checks hold.
Nothing happens at ``import naiad``; the environment hook is :func:`install_from_env`.

Lightning's own ``lightning.pytorch.loggers.NeptuneLogger`` no longer imports ``neptune``:
since Lightning 2.6 it is a stub that raises "Neptune has been sunset". While the finder is
installed, that name (in ``lightning.pytorch.loggers`` and its ``neptune`` submodule) is
:class:`naiad.neptune.integrations.pytorch_lightning.NeptuneLogger`, set the moment Lightning
loads its loggers (or at once when it already has); :func:`uninstall` puts Lightning's back.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = ["ENV_VAR", "install", "install_from_env", "installed", "uninstall"]

ENV_VAR = "NAIAD_NEPTUNE_SHIM"
_ROOTS = ("neptune", "neptune_scale")
_LIGHTNING_LOGGERS = "lightning.pytorch.loggers"
_MISSING = object()  # Lightning 2.6 no longer exports NeptuneLogger from its loggers package
_replaced: dict[tuple[str, str], Any] = {}  # (module, name) → Lightning's own object


def _patch_lightning(package: types.ModuleType) -> None:
    """Point Lightning's ``NeptuneLogger`` names at the layer's logger."""
    try:
        from .integrations.pytorch_lightning import NeptuneLogger
    except Exception as e:  # never break Lightning's own import
        warnings.warn(f"naiad.neptune: Lightning's NeptuneLogger was left as it is ({e}).", stacklevel=2)
        return
    for module in (package, sys.modules.get(f"{_LIGHTNING_LOGGERS}.neptune")):
        if module is not None and getattr(module, "NeptuneLogger", None) is not NeptuneLogger:
            _replaced.setdefault(
                (module.__name__, "NeptuneLogger"), getattr(module, "NeptuneLogger", _MISSING)
            )
            module.NeptuneLogger = NeptuneLogger  # type: ignore[attr-defined]


def _restore_lightning() -> None:
    for (name, attr), original in _replaced.items():
        module = sys.modules.get(name)
        if module is not None and original is _MISSING:
            delattr(module, attr)
        elif module is not None:
            setattr(module, attr, original)
    _replaced.clear()


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``neptune...`` as ``naiad.neptune...`` and loads it as that very module."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == _LIGHTNING_LOGGERS:
            return _patched_after_load(fullname, path)
        if fullname.split(".", 1)[0] not in _ROOTS:
            return None
        try:
            module = importlib.import_module(f"naiad.{fullname}")
        except ModuleNotFoundError:
            return None  # `neptune.<something naiad lacks>`: a plain ImportError, as without the shim
        is_package = hasattr(module, "__path__")
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=is_package)
        spec.loader_state = module
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module: types.ModuleType = spec.loader_state
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Already executed as ``naiad.<name>``."""


def _patched_after_load(fullname: str, path: Sequence[str] | None) -> importlib.machinery.ModuleSpec | None:
    """Lightning's loggers package, found as usual, whose loading ends with :func:`_patch_lightning`."""
    spec = importlib.machinery.PathFinder.find_spec(fullname, path)
    loader = getattr(spec, "loader", None)
    if spec is None or loader is None or not hasattr(loader, "exec_module"):
        return spec
    exec_module = loader.exec_module

    def exec_and_patch(module: types.ModuleType) -> None:
        exec_module(module)
        _patch_lightning(module)

    loader.exec_module = exec_and_patch  # this loader instance serves this module only
    return spec


_FINDER = _Alias()


def install() -> None:
    """Make ``import neptune`` and ``import neptune_scale`` (and submodules) load naiad's layers,
    and Lightning's ``NeptuneLogger`` the layer's.

    Call it before the framework imports Neptune (transformers decides whether
    ``report_to="neptune"`` is available when ``transformers.integrations`` is first imported).

    Raises:
        ImportError: the real ``neptune`` or ``neptune_scale`` is already imported in this process.

    Example:
        >>> import naiad.neptune
        >>> naiad.neptune.install()  # doctest: +SKIP
        >>> import neptune  # doctest: +SKIP
    """
    for root in _ROOTS:
        loaded = sys.modules.get(root)
        if loaded is not None and not loaded.__name__.startswith("naiad."):
            raise ImportError(
                f"'{root}' is already imported from {getattr(loaded, '__file__', '?')}; call "
                "naiad.neptune.install() before anything imports it (or uninstall that package)."
            )
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    loggers = sys.modules.get(_LIGHTNING_LOGGERS)
    if loggers is not None:
        _patch_lightning(loggers)


def installed() -> bool:
    return _FINDER in sys.meta_path


def uninstall() -> None:
    """Remove the finder and the aliased modules (``naiad.neptune...`` stay imported)."""
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
    _restore_lightning()
    for name in [n for n in sys.modules if n.split(".", 1)[0] in _ROOTS]:
        if sys.modules[name].__name__.startswith("naiad."):
            del sys.modules[name]


def install_from_env() -> bool:
    """:func:`install` when ``NAIAD_NEPTUNE_SHIM=1`` is set; for a ``sitecustomize`` or ``.pth`` hook."""
    if os.environ.get(ENV_VAR) == "1":
        install()
        return True
    return False
