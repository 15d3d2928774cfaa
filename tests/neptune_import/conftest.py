"""Fixtures: a generated neptune-exporter export, and the ``naiad`` command run on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from _neptune_export import Export, write_export

from naiad._cli import main

Naiad = Callable[..., tuple[int, str, str]]


@pytest.fixture
def export(tmp_path: Path) -> Export:
    return write_export(tmp_path / "export")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Naiad:
    """``naiad ARGS...`` in this process: (exit status, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run
