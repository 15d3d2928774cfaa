"""Run neptune 1.x scripts (imports rewritten to naiad.neptune) with neptune_scale's harness.

The harness (fresh ``NAIAD_STORE``, ``NEPTUNE_PROJECT``, a dummy ``NEPTUNE_API_TOKEN``,
read-back through ``naiad.Run(..., mode="read-only")``) lives in ``tests/neptune_scale/_nscale.py``;
this module points it at ``tests/neptune/scripts``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _harness() -> object:
    loaded = sys.modules.get("_nscale")
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location("_nscale", HERE.parent / "neptune_scale" / "_nscale.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["_nscale"] = module
    spec.loader.exec_module(module)
    return module


_nscale = _harness()
PROJECT: str = _nscale.PROJECT  # type: ignore[attr-defined]


class Scripts(_nscale.Scripts):  # type: ignore[attr-defined,name-defined,misc]
    scripts_dir = HERE / "scripts"
