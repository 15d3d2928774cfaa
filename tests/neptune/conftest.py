"""The ``scripts`` fixture: neptune 1.x scripts run against a fresh store (see ``_nep``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _nep import Scripts


@pytest.fixture
def scripts(tmp_path: Path) -> Scripts:
    return Scripts(tmp_path)
