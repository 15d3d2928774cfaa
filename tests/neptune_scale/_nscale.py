"""Run neptune-scale scripts (imports rewritten to naiad.neptune_scale) in a subprocess.

Each script runs with a fresh store (``NAIAD_STORE``), ``NEPTUNE_PROJECT`` and a dummy
``NEPTUNE_API_TOKEN`` set as a Neptune user had them; tests read back what was stored
through ``naiad.Run(..., mode="read-only")`` and ``naiad.query``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import naiad

SCRIPTS = Path(__file__).parent / "scripts"
PROJECT = "team-alpha/seabird"


class Scripts:
    """Runs scripts from ``scripts/`` in one working directory against one store."""

    scripts_dir = SCRIPTS  # the neptune 1.x tests run their own folder with the same harness

    def __init__(self, cwd: Path, store: Path | str | None = None) -> None:
        self.cwd = cwd
        self.store: Path | str = cwd / "store" if store is None else store

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NAIAD_", "NEPTUNE_"))}
        env.update(
            NAIAD_STORE=str(self.store),
            NEPTUNE_PROJECT=PROJECT,
            NEPTUNE_API_TOKEN="eyJhcGlfdXJsIjogImh0dHBzOi8vc2NhbGUubmVwdHVuZS5haSJ9",  # ignored
        )
        env.update(extra)
        return env

    def run(self, name: str, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, str(self.scripts_dir / name), *args],
            cwd=self.cwd,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
        return done

    @contextlib.contextmanager
    def stored(self, run_id: str, project: str = PROJECT) -> Iterator[naiad.Run]:
        run = naiad.Run(run_id=run_id, project=project, store=self.store, mode="read-only")
        try:
            yield run
        finally:
            run.close()

    def series(
        self, run_id: str, path: str, lineage: bool = True, project: str = PROJECT
    ) -> list[tuple[float, object]]:
        with self.stored(run_id, project) as run:
            df = run[path].fetch_values(include_timestamp=False, lineage_to_the_root=lineage)
        return list(zip(df["step"].tolist(), df["value"].tolist()))
