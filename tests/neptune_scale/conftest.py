"""The ``scripts`` fixture: neptune-scale scripts run against a fresh store (see ``_nscale``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _nscale import Scripts


@pytest.fixture
def scripts(tmp_path: Path) -> Scripts:
    return Scripts(tmp_path)
