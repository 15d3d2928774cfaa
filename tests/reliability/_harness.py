"""Drive the reliability children: spawn, signal, kill, and check what a killed run left behind.

The tests call these with CI-sized counts; ``benchmarks/reliability_long.py`` calls the same
functions with the long counts, so both check exactly the same properties.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

import naiad
from naiad._storage import open_store
from naiad._storage._sqlite import STALE_AFTER_S

from . import _workload as w

CHILD = Path(__file__).with_name("_child.py")
_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 24, 1, 2


def _drop_dac() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Make a root child obey file permissions, as any other user's process would."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def spawn(
    mode: str,
    *args: object,
    obey_permissions: bool = False,
    stdin: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    """Start ``_child.py MODE ARGS`` with piped stdout/stderr (and stdin when asked)."""
    # the children report acknowledged points on stdout, read by the parent up to the kill; console
    # capture hands stdout lines over on a thread, so a SIGKILL could lose an already-printed ack
    full_env = {
        **os.environ,
        "PYTHONWARNINGS": "default",
        "NAIAD_CAPTURE_STDOUT": "0",
        "NAIAD_CAPTURE_STDERR": "0",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, str(CHILD), mode, *map(str, args)],
        text=True,
        env=full_env,
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # prctl between fork and exec is what makes a root child obey chmod; it calls no Python
        # that could deadlock on a lock another thread held at fork time
        preexec_fn=_drop_dac if obey_permissions and os.geteuid() == 0 else None,  # noqa: PLW1509
    )


class Lines:
    """Collects a child's stdout lines in a thread, each with the time it arrived."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()

    def wait_for(self, prefix: str, timeout: float, count: int = 1) -> str:
        """The ``count``-th line starting with ``prefix``, once it has come (TimeoutError: not in time)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [line for _, line in self.lines if line.startswith(prefix)]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    got = f"{len(found)} of {count} lines starting with {prefix!r}"
                    raise TimeoutError(f"{got} in {timeout} s: {self.lines[-5:]}")
                self._cond.wait(left)

    def finish(self, timeout: float = 10) -> list[str]:
        self._thread.join(timeout)
        return [line for _, line in self.lines]


def reap(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[int, str]:
    """Wait for the child, close its pipes; (exit code, stderr)."""
    rc = proc.wait(timeout)
    stderr = proc.stderr.read() if proc.stderr else ""
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()
    return rc, stderr


def new_progress(path: Path) -> Path:
    path.write_bytes(b"\0" * 24)
    return path


def read_progress(path: Path) -> tuple[int, int, int]:
    data = path.read_bytes()
    return tuple(int.from_bytes(data[i : i + 8], "little") for i in (0, 8, 16))  # type: ignore[return-value]


def integrity(store: Path | str) -> str:
    """``PRAGMA integrity_check`` of the store's database, through a plain sqlite3 connection
    (``ok`` for a PostgreSQL store, whose server keeps its own consistency)."""
    if not isinstance(store, Path):
        return "ok"
    conn = sqlite3.connect(store / "naiad.db", timeout=60)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def naiad_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("naiad")]


# -- kill at any moment ----------------------------------------------------------------------------
def kill_once(store: Path | str, run_id: str, seed: int, delay: float, work: Path) -> dict[str, Any]:
    """Start a kill child, SIGKILL it ``delay`` s after the start, and check what it left."""
    progress = new_progress(work / f"{run_id}.progress")
    proc = spawn("kill", store, run_id, seed, progress)
    lines = Lines(proc)
    time.sleep(delay)
    proc.kill()  # SIGKILL: no handler, no atexit, no flush
    killed_at = time.time()
    out = lines.finish()
    _, stderr = reap(proc)
    assert not [x for x in out if not x.startswith(("ready", "ack"))], (out, stderr[-2000:])
    acks = [tuple(map(int, x.split()[1:])) for x in out if x.startswith("ack")]
    acked = max(acks, default=(0, 0, 0))
    result = check_killed_run(
        store, run_id, seed, acked, read_progress(progress), killed_at, ready="ready" in out, work=work
    )
    result.update(delay=delay, acks=len(acks), killed_at=killed_at)
    return result


def check_killed_run(
    store: Path | str,
    run_id: str,
    seed: int,
    acked: tuple[int, int, int],
    logged: tuple[int, int, int],
    killed_at: float,
    *,
    ready: bool,
    work: Path,
) -> dict[str, Any]:
    """Everything acknowledged is there once and bit-identical; every batch whole; store sound."""
    if not isinstance(store, Path) or (store / "naiad.db").exists():  # a kill during the very
        assert integrity(store) == "ok"  # first start may precede the database file
    try:
        run = naiad.Run(run_id=run_id, store=store, mode="read-only")
    except naiad.RunNotFound:
        assert not ready and acked == (0, 0, 0), "a run that said 'ready' is missing"
        return {
            "stored": 0,
            "acked": 0,
            "logged": logged[0],
            "loss_steps": None,
            "loss_s": None,
            **_new_writer(store, run_id, 0),
        }
    structure = run.get_structure()
    m_steps = _check_metrics(run, seed, structure)
    assert m_steps >= acked[0], f"acknowledged step {acked[0]} lost; {m_steps} stored"
    assert m_steps <= logged[0] + 1, f"{m_steps} stored but only {logged[0]} logged"
    _check_configs(run, seed, acked[1])
    _check_files(run, seed, acked[2], work / run_id)
    loss_s = None
    if m_steps:
        last_ts = run[w.KEYS[0]].fetch_values(lineage_to_the_root=False)["timestamp"].iloc[-1]
        loss_s = killed_at - last_ts.timestamp()
    if ready:
        assert run["sys/state"].fetch() == "active", "a fresh heartbeat reads as active"
    backend = open_store(store, create=False)
    try:
        record = backend.find_run("default", run_id)
        assert record is not None
        state, _ = backend.run_state(record.pk, killed_at + STALE_AFTER_S + 1)
        assert state == "inactive", "a heartbeat older than 20 s must read as inactive"
    finally:
        backend.close()
    run.close()
    return {
        "stored": m_steps,
        "acked": acked[0],
        "logged": logged[0],
        "loss_steps": logged[0] - m_steps,
        "loss_s": loss_s,
        **_new_writer(store, run_id, m_steps),
    }


def _check_metrics(run: naiad.Run, seed: int, structure: dict[str, Any]) -> int:
    """All five keys hold steps 1..M (the same M: a batch is whole), values bit for bit."""
    if "m" not in structure:
        return 0
    counts = set()
    for i, key in enumerate(w.KEYS):
        frame = run[key].fetch_values(include_timestamp=False, lineage_to_the_root=False)
        steps = frame["step"].to_numpy()
        assert np.array_equal(steps, np.arange(1, len(steps) + 1, dtype=float)), (
            f"{key}: steps are not exactly 1..{len(steps)} (a point lost or stored twice)"
        )
        got = frame["value"].to_numpy(dtype=np.float64).view(np.uint64)
        want = np.array(
            [w.float_to_bits(w.metric_values(seed, s)[key]) for s in range(1, len(steps) + 1)],
            dtype=np.uint64,
        )
        bad = np.flatnonzero(got != want)
        assert not bad.size, f"{key}: value at step {bad[0] + 1} is not bit-identical"
        counts.add(len(steps))
        del i
    assert len(counts) == 1, f"a half-written batch: the keys of one call hold {sorted(counts)} points"
    return counts.pop()


def _check_configs(run: naiad.Run, seed: int, acked: int) -> None:
    cfg = run.fetch().get("cfg")
    if cfg is None:
        assert acked == 0, f"config {acked} was acknowledged but none is stored"
        return
    n = cfg.get("n")
    want = w.config_values(seed, n)
    assert n is not None and n >= acked, f"config {acked} acknowledged, {n} stored"
    assert cfg["x"] == want["x"] or w.same_bits(cfg["x"], want["x"]), "half-written config batch"
    assert (cfg["name"], cfg["even"], cfg["tags"]) == (want["name"], want["even"], set(want["tags"])), (
        f"half-written config batch: {cfg} vs n={n}"
    )


def _check_files(run: naiad.Run, seed: int, acked: int, folder: Path) -> None:
    if not run.exists("files/series"):
        assert acked == 0, f"file {acked} was acknowledged but none is stored"
        return
    written = run["files/series"].download(folder)
    assert isinstance(written, list)
    steps = sorted(int(p.stem.rsplit("_", 1)[1]) for p in written)
    assert steps == list(range(1, len(steps) + 1)) and len(steps) >= acked, steps
    for p in written:
        assert p.read_bytes() == w.file_bytes(seed, int(p.stem.rsplit("_", 1)[1])), f"{p.name} differs"
    if run.exists("files/latest"):
        meta = run["files/latest"].fetch()
        n = int(meta["name"][1:-4])
        assert n in (len(steps) - 1, len(steps)), (n, len(steps))
        target = run["files/latest"].download(folder / "latest.bin")
        assert Path(str(target)).read_bytes() == w.file_bytes(seed, n)


def _new_writer(store: Path | str, run_id: str, last: int) -> dict[str, Any]:
    """A new process's writer opens the store and appends to the killed run at once."""
    t0 = time.monotonic()
    with naiad.Run(run_id=run_id, store=store) as run:
        run.log_metrics({"after/kill": 1.0}, step=last + 1)
        assert run.wait(timeout=60)
    return {"reopen_s": time.monotonic() - t0}


def kill_campaign(
    store: Path | str,
    kills: int,
    seed: int,
    *,
    max_delay: float = 1.6,
    report: Callable[[int, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """``kills`` children into one store, each SIGKILLed at a random moment (startup included)."""
    rng = random.Random(seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(kills):
            result = kill_once(
                store, f"kill-{i}", rng.randrange(1 << 30), rng.uniform(0.02, max_delay), Path(tmp)
            )
            results.append(result)
            if report is not None:
                report(i, result)
    return results


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    losses = sorted(r["loss_s"] for r in results if r["loss_s"] is not None)
    steps = sorted(r["loss_steps"] for r in results if r["loss_steps"] is not None)
    return {
        "kills": len(results),
        "before_run_existed": sum(r["loss_s"] is None for r in results),
        "acks": sum(r.get("acks", 0) for r in results),
        "points_checked": sum(r["stored"] for r in results) * len(w.KEYS),
        "max_loss_s": losses[-1] if losses else None,
        "median_loss_s": losses[len(losses) // 2] if losses else None,
        "max_loss_steps": steps[-1] if steps else None,
        "max_reopen_s": max(r["reopen_s"] for r in results),
    }


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)


@contextlib.contextmanager
def locked(store: Path) -> Iterator[None]:
    """Another process holds the store's write lock (``BEGIN EXCLUSIVE``) inside the block."""
    proc = spawn("lock", store, stdin=True)
    lines = Lines(proc)
    try:
        lines.wait_for("locked", 60)
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        lines.finish()
        reap(proc)


class Remote:
    """A child process holding one Run, driven command by command (see ``_child.Remote``).

    Every call returns the child's result; an exception inside the child (one the training
    loop would have received) fails the test with its traceback.
    """

    def __init__(self, *, obey_permissions: bool = False, env: dict[str, str] | None = None) -> None:
        self.proc = spawn("remote", stdin=True, obey_permissions=obey_permissions, env=env)
        self.lines = Lines(self.proc)

    def reply(self, op: str, reply_timeout: float = 120, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        seen = len(self.lines.lines)
        self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + reply_timeout
        while len(self.lines.lines) <= seen:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"no reply to {op}: {self.stderr()}")
            time.sleep(0.01)
        return json.loads(self.lines.lines[seen][1])  # type: ignore[no-any-return]

    def __call__(self, op: str, reply_timeout: float = 120, **args: Any) -> Any:
        reply = self.reply(op, reply_timeout, **args)
        assert "error" not in reply, reply.get("trace", reply)
        return reply["result"]

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read() if self.proc.stderr else ""

    def exit(self) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write('{"op": "exit"}\n')
        self.proc.stdin.flush()
        self.lines.finish()
        return reap(self.proc)[1]


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "16m", *, read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs at ``path`` (a full disk on demand); skips the test where mount is refused."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, *, read_only: bool) -> None:
    """Remount a tmpfs read-only or read-write (Linux refuses while files are open for writing)."""
    subprocess.run(["mount", "-o", "remount," + ("ro" if read_only else "rw"), str(path)], check=True)


def fill(directory: Path) -> Path:
    """Write a file into ``directory`` until the filesystem is full; return it (delete to free)."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    finally:
        os.close(fd)
    return filler
