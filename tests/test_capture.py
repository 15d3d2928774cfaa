"""What the run was: console, failure record, monitoring, source, environment, ranks (real processes)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import naiad
from naiad import query
from naiad.errors import FieldNotFound
from naiad.testing import fields, read_run, series


def run_script(
    tmp_path: Path, body: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``body`` as a script in ``tmp_path``; output is decoded without newline translation."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(body))
    full = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    full.update(env or {})
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=full, capture_output=True, timeout=120, check=False
    )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def test_a_crashing_script_leaves_its_traceback_and_stderr(tmp_path: Path, store: Path) -> None:
    done = run_script(
        tmp_path,
        f"""
        import sys, naiad
        run = naiad.Run(run_id="crash", store={str(store)!r})
        print("epoch 1 done")
        print("warming up", file=sys.stderr)
        def inner():
            raise RuntimeError("loss is nan")
        inner()
        """,
    )
    assert done.returncode == 1 and "loss is nan" in done.stderr and "epoch 1 done" in done.stdout
    got = fields(store, "crash")
    assert got["sys/failed"] is True
    assert "in inner" in got["sys/diagnostics/traceback"]
    assert got["sys/diagnostics/traceback"].rstrip().endswith("RuntimeError: loss is nan")
    assert got["sys/diagnostics/exit_code"] == 1
    assert series(store, "crash", "monitoring/main/stdout") == [(0.0, "epoch 1 done")]
    assert series(store, "crash", "monitoring/main/stderr")[0][1] == "warming up"


def test_progress_bars_collapse_and_the_terminal_sees_everything(tmp_path: Path, store: Path) -> None:
    done = run_script(
        tmp_path,
        f"""
        import sys, naiad
        with naiad.Run(run_id="bar", store={str(store)!r}) as run:
            for i in range(5):
                sys.stdout.write(f"\\r{{i * 25}}%")
            print()
            print("x" * 100_000)
        assert sys.stdout is sys.__stdout__, "restored on close"
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("\r0%\r25%")
    lines = [v for _, v in series(store, "bar", "monitoring/main/stdout")]
    assert lines[0] == "100%" and "".join(lines[1:]) == "x" * 100_000


def test_a_script_printing_100_mb_is_captured_whole(tmp_path: Path, store: Path) -> None:
    done = run_script(
        tmp_path,
        f"""
        import naiad
        with naiad.Run(run_id="big", store={str(store)!r}):
            line = "y" * 999
            for i in range(100_000):
                print(line)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) == 100_000_000, "the terminal got every byte"
    run = read_run(store, "big")
    values = run["monitoring/main/stdout"].fetch_values(include_timestamp=False)
    assert len(values) == 100_000 and set(values["value"]) == {"y" * 999}


def test_a_planted_secret_never_reaches_the_store(tmp_path: Path, store: Path) -> None:
    secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
    done = run_script(
        tmp_path,
        f"""
        import sys, naiad
        sys.argv += ["--lr", "0.1", "--api-key={secret}", "--hf_token", "{secret}"]  # as if typed
        with naiad.Run(run_id="env", store={str(store)!r}, capture_environment=True) as run:
            print("started")
        """,
        {"AWS_SECRET_ACCESS_KEY": secret, "OMP_NUM_THREADS": "3"},
    )
    assert done.returncode == 0, done.stderr
    got = fields(store, "env")
    assert got["environment/variables/OMP_NUM_THREADS"] == "3"
    assert json.loads(got["environment/command_line"])[1:] == [
        "--lr",
        "0.1",
        "--api-key=***",
        "--hf_token",
        "***",
    ]
    assert "pytest==" in got["environment/packages"] and got["environment/python"] == sys.version.split()[0]
    raw = b"".join(p.read_bytes() for p in store.rglob("*") if p.is_file())
    assert secret.encode() not in raw


def test_git_and_source_capture_in_a_dirty_repository(tmp_path: Path, store: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    (tmp_path / "model.py").write_text("LAYERS = 2\n")
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=tmp_path, check=True)
    subprocess.run(
        [*git, "remote", "add", "origin", "https://alice:hunter2@example.com/a/b.git"],
        cwd=tmp_path,
        check=True,
    )
    (tmp_path / "model.py").write_text("LAYERS = 3\n")
    done = run_script(
        tmp_path,
        f"""
        import naiad
        with naiad.Run(run_id="src", store={str(store)!r}, capture_source=True):
            pass
        """,
    )
    assert done.returncode == 0, done.stderr
    got = fields(store, "src")
    assert got["source_code/git/branch"] == "main" and got["source_code/git/dirty"] is True
    assert got["source_code/git/remote"] == "https://example.com/a/b.git"
    run = read_run(store, "src")
    run["source_code/git/diff"].download(tmp_path / "diff.txt")
    assert "+LAYERS = 3" in (tmp_path / "diff.txt").read_text()
    run["source_code/files/train.py"].download(tmp_path / "got.py")
    assert "capture_source=True" in (tmp_path / "got.py").read_text()


def test_torchrun_ranks_share_one_run_with_labelled_monitoring(tmp_path: Path, store: Path) -> None:
    pytest.importorskip("torch")
    script = tmp_path / "ddp.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import os, time, naiad, torch.distributed as dist
            dist.init_process_group("gloo")
            run = naiad.Run(store={str(store)!r}, experiment_name="ddp")
            print("hello from", dist.get_rank())
            time.sleep(0.6)
            if dist.get_rank() == 0:
                run.log_metrics({{"train/loss": 0.5}}, step=1)
            dist.barrier()
            run.close()
            dist.destroy_process_group()
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
    env["NAIAD_MONITORING_INTERVAL"] = "0.2"
    env["NAIAD_MONITORING_PER"] = "rank"
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone", str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    runs = list(query.list_runs(store=store))
    assert len(runs) == 1 and runs[0].startswith("torchrun-")
    got = fields(store, runs[0])
    for rank in (0, 1):
        assert got[f"monitoring/rank{rank}/stdout"] == f"hello from {rank}"
        assert f"monitoring/rank{rank}/cpu" in got and got[f"monitoring/rank{rank}/pid"] > 0
    assert series(store, runs[0], "train/loss") == [(1.0, 0.5)]
    assert got["sys/state"] == "inactive" and got["sys/failed"] is False


def test_without_nvidia_gpu_metrics_degrade_to_one_info_line(tmp_path: Path, store: Path) -> None:
    """No NVML (nvidia-ml-py absent, or no driver): system metrics still come, GPUs say so once."""
    if importlib.util.find_spec("pynvml") is not None:
        pytest.skip("nvidia-ml-py is installed here; this checks a machine without it")
    done = run_script(
        tmp_path,
        f"""
        import logging, time, naiad
        from naiad.testing import fields
        logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
        for i in range(3):  # a sweep opening runs one after another
            with naiad.Run(run_id=f"r{{i}}", store={str(store)!r}, capture_stderr=False) as run:
                while run.wait() and "monitoring/main/cpu" not in fields({str(store)!r}, f"r{{i}}"):
                    time.sleep(0.05)  # until the first sample is stored
        """,
        {"NAIAD_MONITORING_INTERVAL": "0.05"},
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "GPU" in line]
    assert len(lines) == 1 and lines[0].startswith("naiad INFO naiad: no GPU metrics"), done.stderr
    for i in range(3):
        got = fields(store, f"r{i}")
        assert got["monitoring/main/process_memory_gb"] > 0
        assert not [path for path in got if "/gpu/" in path]


OPEN = "run = naiad.Run(run_id='r', store=STORE)"  # no `with`: only the exit hooks see the end


@pytest.mark.parametrize(
    ("ending", "code", "failed", "signal_name"),
    [
        ("with naiad.Run(run_id='r', store=STORE):\n    sys.exit(0)", 0, False, None),
        ("with naiad.Run(run_id='r', store=STORE):\n    sys.exit(3)", 3, True, None),
        (f"{OPEN}\nos.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(60)", 143, True, "SIGTERM"),
        (f"{OPEN}\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(60)", 130, True, "SIGINT"),
    ],
    ids=["sys.exit(0)", "sys.exit(3)", "SIGTERM-without-with", "Ctrl-C-without-with"],
)  # fmt: skip
def test_how_the_process_ended_is_recorded(
    tmp_path: Path, store: Path, ending: str, code: int, failed: bool, signal_name: str | None
) -> None:
    """Exit status and signal, whether or not the run was opened in a ``with`` block."""
    done = run_script(tmp_path, f"import os, signal, sys, time, naiad\nSTORE = {str(store)!r}\n{ending}\n")
    assert done.returncode in (code, 128 - code), done.stderr  # -N: killed by signal N
    got = fields(store, "r")
    assert got["sys/failed"] is failed
    assert got["sys/diagnostics/exit_code"] == code
    assert got.get("sys/diagnostics/signal") == signal_name
    assert got["sys/state"] == "inactive"


def test_named_source_files_are_captured_outside_a_git_repository(tmp_path: Path, store: Path) -> None:
    """NAIAD_SOURCE_FILES alone turns source capture on; no repository, so no git fields."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text("LAYERS = 4\n")
    (tmp_path / "src" / "notes.txt").write_text("not python\n")
    done = run_script(
        tmp_path,
        f"""
        import naiad
        with naiad.Run(run_id="named", store={str(store)!r}):
            pass
        """,
        {"NAIAD_SOURCE_FILES": "src/*.py", "GIT_CEILING_DIRECTORIES": str(tmp_path.parent)},
    )
    assert done.returncode == 0, done.stderr
    got = fields(store, "named")
    assert not [p for p in got if p.startswith("source_code/git/")]
    assert sorted(p for p in got if p.startswith("source_code/files/")) == ["source_code/files/src/model.py"]
    read_run(store, "named")["source_code/files/src/model.py"].download(tmp_path / "got.py")
    assert (tmp_path / "got.py").read_text() == "LAYERS = 4\n"


def test_a_forked_worker_prints_to_the_terminal_and_holds_none_of_it(tmp_path: Path, store: Path) -> None:
    """A fork (a DataLoader worker) inherits the tee but not its thread: lines reach the terminal,
    the worker keeps no copy of them, and the parent's capture goes on."""
    done = run_script(
        tmp_path,
        f"""
        import os, psutil, naiad
        with naiad.Run(run_id="fork", store={str(store)!r}):
            print("parent before")
            pid = os.fork()
            if pid == 0:  # multiprocessing's fork workers end with os._exit, as here
                before = psutil.Process().memory_info().rss
                for i in range(40_000):
                    print(f"{{i:06}}" + "w" * 993)  # distinct strings: held, they would add up
                grew = psutil.Process().memory_info().rss - before
                open("grew", "w").write(str(grew))
                os._exit(0)
            os.waitpid(pid, 0)
            print("parent after")
        """,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("w" * 993 + "\n") == 40_000
    assert int((tmp_path / "grew").read_text()) < 10 * 2**20, "40 MB printed, held in the worker"
    assert [v for _, v in series(store, "fork", "monitoring/main/stdout")] == [
        "parent before",
        "parent after",
    ]


def sampled(store: Path, run_id: str, path: str) -> list[tuple[float, object]]:
    """The points of a series so far; none while its first point is still unwritten."""
    try:
        return series(store, run_id, path)
    except FieldNotFound:
        return []


def test_monitoring_interval_and_placement_are_constructor_arguments_checked_early(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """monitoring_interval= samples that often; a bad interval or placement fails at construction."""
    with naiad.Run(run_id="m", store=store, capture_stderr=False, monitoring_interval=0.05):
        deadline = time.monotonic() + 60
        while len(sampled(store, "m", "monitoring/main/cpu")) < 3:
            assert time.monotonic() < deadline, "the sampler never took three samples"
            time.sleep(0.05)
    with pytest.raises(ValueError, match="'node' or 'rank'"):
        naiad.Run(run_id="m2", store=store, monitoring_per="cluster")
    monkeypatch.setenv("NAIAD_MONITORING_INTERVAL", "ten")
    with pytest.raises(ValueError, match=r"NAIAD_MONITORING_INTERVAL.*got 'ten'"):
        naiad.Run(run_id="m3", store=store)
    assert query.list_runs(store=store) == ["m"], "a refused run leaves nothing behind"
