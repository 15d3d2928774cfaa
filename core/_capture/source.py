"""``source_code/…``: the entry-point script, the files named by globs, and git state."""

from __future__ import annotations

import glob
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

MAX_DIFF = 1_000_000  # bytes of `git diff HEAD` kept


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def strip_credentials(url: str) -> str:
    return re.sub(r"://[^/@]*@", "://", url)


def files(globs: tuple[str, ...] | None) -> dict[str, Path]:
    """Entry script (``globs`` None) or every file matching ``globs``, by path under source_code/files."""
    if globs is None:
        main = getattr(sys.modules.get("__main__"), "__file__", None)
        paths = [Path(main)] if main and Path(main).is_file() else []
    else:
        paths = [Path(p) for g in globs for p in glob.glob(g, recursive=True) if Path(p).is_file()]
    out = {}
    cwd = Path.cwd().resolve()
    for p in paths:
        full = p.resolve()
        parts = full.relative_to(cwd).parts if full.is_relative_to(cwd) else (full.name,)
        clean = [re.sub(r"[^A-Za-z0-9_.-]", "_", part).strip(".") or "_" for part in parts]
        out["source_code/files/" + "/".join(clean)] = p
    return out


def git(cwd: Path) -> dict[str, Any]:
    commit = _git(cwd, "rev-parse", "HEAD")
    if commit is None:
        return {}
    out: dict[str, Any] = {"source_code/git/commit": commit}
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    if branch:
        out["source_code/git/branch"] = branch
    remote = _git(cwd, "remote", "get-url", "origin")
    if remote:
        out["source_code/git/remote"] = strip_credentials(remote)
    status = _git(cwd, "status", "--porcelain")
    out["source_code/git/dirty"] = bool(status)
    if status:
        diff = _git(cwd, "diff", "HEAD") or ""
        out["source_code/git/diff_truncated"] = len(diff.encode()) > MAX_DIFF
        out["source_code/git/diff"] = diff.encode()[:MAX_DIFF]
    return out
