"""Fixtures shared by the test suite: a fresh store directory per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store location that does not exist yet (naiad creates it on first use)."""
    return tmp_path / "store"


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never write ./.naiad into the repository, and ignore the developer's NAIAD_* vars."""
    monkeypatch.chdir(tmp_path)
    for name in ("NAIAD_STORE", "NAIAD_PROJECT", "NAIAD_MODE", "NAIAD_EXPERIMENT", "NAIAD_RUN_ID",
                 "NAIAD_OWNER", "NAIAD_ON_ERROR", "NAIAD_LOG_CHECKPOINTS"):
        monkeypatch.delenv(name, raising=False)
