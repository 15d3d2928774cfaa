"""Where an export's parts are: ``<data-path>/<sanitize(project)>/<sanitize(run)>_part_<n>.parquet``.

The exporter renames a run's parts from ``.parquet.tmp`` in reverse order, so ``part_0``
exists only for a completely exported run: a run without it is incomplete and is skipped
(and reported). Directory names are never reversed into project or run ids: the
``project_id`` and ``run_id`` columns hold the originals.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from pathlib import Path

_PART = re.compile(r"^(?P<stem>.+)_part_(?P<n>\d+)\.parquet$")
REGISTRY_DIRS = ("models", "model_versions")  # 2.x model registry exports: not runs


def sanitize(text: str) -> str:
    """The exporter's directory name for a project or run id (letters, digits, ``_``, ``-``
    kept, anything else ``_``; then ``-`` and the blake2b-64 hex digest of the original)."""
    kept = "".join(c if c.isalnum() or c in "_-" else "_" for c in text)
    return f"{kept}-{hashlib.blake2b(text.encode('utf-8'), digest_size=8).hexdigest()}"


@dataclasses.dataclass(frozen=True)
class RunParts:
    """The part files of one exported run, in part order."""

    directory: Path
    stem: str
    parts: tuple[tuple[int, Path], ...]

    @property
    def complete(self) -> bool:
        return bool(self.parts) and self.parts[0][0] == 0

    @property
    def label(self) -> str:
        return f"{self.directory.name}/{self.stem}"


@dataclasses.dataclass(frozen=True)
class Layout:
    """Every run found under a data path, and what was found there that is not a run."""

    runs: tuple[RunParts, ...]
    registries: tuple[Path, ...]  # model registry directories, which this importer does not read


def discover(data_path: Path) -> Layout:
    """The runs of every project directory under ``data_path`` (sorted, for a stable order)."""
    if not data_path.is_dir():
        raise FileNotFoundError(f"The export's data path {data_path} is not a directory.")
    runs: list[RunParts] = []
    registries: list[Path] = []
    for project_dir in sorted(p for p in data_path.iterdir() if p.is_dir()):
        found: dict[str, list[tuple[int, Path]]] = {}
        for entry in sorted(project_dir.iterdir()):
            if entry.is_dir():
                if entry.name in REGISTRY_DIRS:
                    registries.append(entry)
                continue
            m = _PART.match(entry.name)
            if m is not None and entry.is_file():
                found.setdefault(m["stem"], []).append((int(m["n"]), entry))
        for stem, parts in sorted(found.items()):
            runs.append(RunParts(project_dir, stem, tuple(sorted(parts))))
    return Layout(tuple(runs), tuple(registries))
