"""Fixtures shared by the test suite: a fresh store directory per test."""

from __future__ import annotations

from collections.abc import Iterator
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
    for name in (
        "NAIAD_STORE",
        "NAIAD_PROJECT",
        "NAIAD_MODE",
        "NAIAD_EXPERIMENT",
        "NAIAD_RUN_ID",
        "NAIAD_OWNER",
        "NAIAD_ON_ERROR",
        "NAIAD_LOG_CHECKPOINTS",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _close_leftover_runs() -> Iterator[None]:
    """Runs a test leaves open on purpose (closed "at interpreter exit") are closed after it,
    so that the next test starts with no naiad thread or hook of it in the process. Runs that
    wider-scoped fixtures hold open (opened before the test started) are left alone."""
    from naiad import _lifecycle

    before = set(_lifecycle._open)
    yield
    for key, run in list(_lifecycle._open.items()):
        if key not in before:
            run.close(timeout=10)
