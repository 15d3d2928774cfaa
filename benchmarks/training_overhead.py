"""What a logger costs a real training loop: a tiny Lightning model on CPU, 50 metrics a step.

Each logger trains the same model, on the same data, for the same steps, in its own fresh
process, repeated; ``log_every_n_steps=1`` for all, so every step's 50 metrics reach the logger.
Timed: ``trainer.fit`` from start to end (the loggers' final flush included) and the steady-state
time per step (mean over the steps after a warm-up). Each logger's run/writer is created (its
``experiment`` touched) before the clock starts, so imports and run creation are not counted.

Loggers: none (the baseline); noop, a Logger that drops everything (what Lightning itself
spends feeding any logger, e.g. turning the logged tensors into floats); naiad's ``NaiadLogger``
(when ``naiad.integrations.lightning`` imports) with its defaults (console capture and system
metrics every 10 s on), ``naiad-nocapture`` with both off, ``naiad-console`` with console
capture only and ``naiad-monitor-1s`` with system metrics only, sampled every second: each
part's overhead against ``naiad-nocapture`` is printed separately at the end (``--print-every``
makes the training print a line every N steps, for every logger, so console capture has
output to carry); Lightning's ``CSVLogger``, ``TensorBoardLogger``
(needs ``tensorboard``) and ``MLFlowLogger`` (needs ``mlflow``), the last with Lightning's default
file store in ``save_dir`` and with mlflow's own default, SQLite. A logger that does not import
is listed as skipped.

    python benchmarks/training_overhead.py                  # 400 steps, 5 repeats
    python benchmarks/training_overhead.py --only naiad,csv --repeats 3
    python benchmarks/training_overhead.py --only naiad,naiad-nocapture,naiad-console,naiad-monitor-1s \
        --print-every 1 --direct-steps 0      # the capture parts alone
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

RESULT = "@@overhead-result@@ "
LOGGERS = (
    "none",
    "noop",
    "naiad",
    "naiad-nocapture",
    "naiad-console",
    "naiad-monitor-1s",
    "csv",
    "tensorboard",
    "mlflow-file",
    "mlflow-sqlite",
)
WARMUP = 50  # steps left out of the steady-state time per step
OFF = "0"
CAPTURE = {  # NAIAD_* settings of each naiad variant (naiad itself: the defaults)
    "naiad-nocapture": {"CAPTURE_STDOUT": OFF, "CAPTURE_STDERR": OFF, "CAPTURE_HARDWARE_METRICS": OFF},
    "naiad-console": {"CAPTURE_HARDWARE_METRICS": OFF},
    "naiad-monitor-1s": {"CAPTURE_STDOUT": OFF, "CAPTURE_STDERR": OFF, "MONITORING_INTERVAL": "1"},
}


def make_logger(name: str, store: Path) -> Any:
    """The Lightning logger ``name`` writing under ``store`` (``False`` for none)."""
    if name == "none":
        return False
    if name == "noop":
        return _noop_logger()
    if name.startswith("naiad"):
        from naiad.integrations.lightning import NaiadLogger

        for key, value in CAPTURE.get(name, {}).items():
            os.environ[f"NAIAD_{key}"] = value

        return NaiadLogger(experiment_name="overhead", store=store / "naiad-store")
    if name == "csv":
        from lightning.pytorch.loggers import CSVLogger

        return CSVLogger(save_dir=store)
    if name == "tensorboard":
        import tensorboard  # noqa: F401  (Lightning falls back to tensorboardX silently otherwise)
        from lightning.pytorch.loggers import TensorBoardLogger

        return TensorBoardLogger(save_dir=store)
    if name.startswith("mlflow"):
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"  # mlflow 3 refuses the file store without it
        from lightning.pytorch.loggers import MLFlowLogger

        if name == "mlflow-file":  # Lightning's default: a file store in save_dir
            return MLFlowLogger(save_dir=str(store / "mlruns"))
        return MLFlowLogger(tracking_uri=f"sqlite:///{store}/mlflow.db")  # mlflow's own default
    raise ValueError(name)


def _noop_logger() -> Any:
    """A logger that drops everything: what Lightning itself spends feeding any logger."""
    from lightning.pytorch.loggers import Logger

    class NoopLogger(Logger):
        name, version, experiment = "noop", 0, None

        def log_metrics(self, metrics: Any, step: Any = None) -> None:
            pass

        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            pass

    return NoopLogger()


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def direct(name: str, store: Path, steps: int, metrics: int) -> dict[str, Any]:
    """Call ``logger.log_metrics`` as Lightning does each step, without Lightning: the logger's cost alone."""
    import random
    import warnings

    warnings.filterwarnings("ignore")
    try:
        logger = make_logger(name, store)
    except ImportError as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    if name != "noop":
        logger.experiment  # noqa: B018
    keys = ["train/loss"] + [f"train/metric_{i}" for i in range(metrics - 1)]
    rng = random.Random(0)
    rows = [{k: rng.random() for k in keys} for _ in range(steps)]
    t, cpu, proc = time.perf_counter(), time.thread_time(), time.process_time()
    for s in range(steps):  # what Lightning hands a logger: floats, plus the epoch
        logger.log_metrics({**rows[s], "epoch": float(s // 100)}, step=s)
    out = {"call": time.perf_counter() - t, "call_cpu": time.thread_time() - cpu}
    t = time.perf_counter()
    logger.finalize("success")
    out["finalize"] = time.perf_counter() - t
    out["call_proc"] = time.process_time() - proc  # the calls and the final flush, all threads
    return {k: v / steps if k.startswith("call") else v for k, v in out.items()}


def worker(
    name: str, store: Path, steps: int, metrics: int, threads: int, print_every: int = 0
) -> dict[str, Any]:
    """Train once with logger ``name`` in this (fresh) process."""
    import warnings

    warnings.filterwarnings("ignore")  # Lightning's advice (few workers, ...) is the same for all
    import lightning.pytorch as pl
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812
    from torch.utils.data import DataLoader, TensorDataset

    torch.set_num_threads(threads)
    torch.manual_seed(0)

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 1))

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss = F.mse_loss(self.net(x), y)
            self.log("train/loss", loss)
            detached = loss.detach()
            for i in range(metrics - 1):  # one self.log per metric, as models usually do
                self.log(f"train/metric_{i}", detached * (i + 1))
            if print_every and batch_idx % print_every == 0:  # a script's own progress lines
                print(f"step {batch_idx} loss {float(detached):.5f}", flush=True)
            return loss

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    class StepClock(pl.Callback):
        def __init__(self) -> None:
            self.times: list[tuple[float, float]] = []

        def on_train_batch_end(self, *args: Any) -> None:
            self.times.append((time.perf_counter(), time.process_time()))

    x = torch.randn(steps * 32, 32)
    data = DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=32)
    try:
        logger = make_logger(name, store)
    except ImportError as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    if logger and name != "noop":
        logger.experiment  # noqa: B018  (create the run/writer before the clock starts)
    clock = StepClock()
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=steps,
        logger=logger,
        log_every_n_steps=1,
        callbacks=[clock],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=store,
    )
    t, cpu = time.perf_counter(), time.process_time()
    trainer.fit(Tiny(), data)
    fit, fit_cpu = time.perf_counter() - t, time.process_time() - cpu
    (wall0, cpu0), (wall1, cpu1), n = clock.times[WARMUP], clock.times[-1], len(clock.times) - 1 - WARMUP
    return {
        "fit": fit,
        "fit_cpu": fit_cpu,
        "step": (wall1 - wall0) / n,
        "step_cpu": (cpu1 - cpu0) / n,
        "steps": len(clock.times),
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_worker(
    name: str, steps: int, metrics: int, threads: int, mode: str = "fit", print_every: int = 0
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="naiad-overhead-") as tmp:
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        env.pop("MLFLOW_TRACKING_URI", None)
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            name,
            "--store",
            tmp,
            "--steps",
            str(steps),
            "--metrics",
            str(metrics),
            "--threads",
            str(threads),
            "--mode",
            mode,
            "--print-every",
            str(print_every),
        ]
        proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True, check=False)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT):
            return json.loads(line[len(RESULT) :])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail[:200]}"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--metrics", type=int, default=50, help="metrics logged per step")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument(
        "--only", default="", help="comma-separated loggers (none always runs): " + ", ".join(LOGGERS[1:])
    )
    parser.add_argument(
        "--direct-steps",
        type=int,
        default=2000,
        help="steps of the direct logger.log_metrics measurement (0: skip it)",
    )
    parser.add_argument(
        "--print-every", type=int, default=0, help="print a progress line every N steps (0: never)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="fit", help=argparse.SUPPRESS)
    parser.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        try:
            if args.mode == "fit":
                out = worker(
                    args.worker, args.store, args.steps, args.metrics, args.threads, args.print_every
                )
            else:
                out = direct(args.worker, args.store, args.steps, args.metrics)
        except Exception as exc:  # report, never crash the benchmark
            traceback.print_exc()
            out = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
        print(RESULT + json.dumps(out), flush=True)
        os._exit(0)

    if args.steps <= WARMUP + 1:
        parser.error(f"--steps must be more than {WARMUP + 1}")
    only = [n.strip() for n in args.only.split(",") if n.strip()]
    if set(only) - set(LOGGERS):
        parser.error(f"unknown logger(s) {sorted(set(only) - set(LOGGERS))}; known: {list(LOGGERS)}")
    names = [n for n in LOGGERS if not only or n in only or n == "none"]
    results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    failed: dict[str, str] = {}
    calls: dict[str, list[dict[str, Any]]] = {}
    start = time.perf_counter()
    for rep in range(args.repeats):  # round-robin, so drifts of a busy machine hit all alike
        for name in names:
            if name in failed:
                continue
            out = run_worker(name, args.steps, args.metrics, args.threads, print_every=args.print_every)
            if "skipped" in out or "error" in out:
                failed[name] = f"skipped: {out['skipped']}" if "skipped" in out else f"failed: {out['error']}"
                print(f"[{rep + 1}/{args.repeats}] {name}: {failed[name]}", file=sys.stderr, flush=True)
                continue
            results[name].append(out)
            print(
                f"[{rep + 1}/{args.repeats}] {name}: fit {out['fit']:.3f} s, "
                f"{out['step'] * 1e3:.2f} ms/step"
                f" ({out['step_cpu'] * 1e3:.2f} CPU)",
                file=sys.stderr,
                flush=True,
            )
            if args.direct_steps and name != "none":
                out = run_worker(name, args.direct_steps, args.metrics, args.threads, mode="direct")
                if "call" in out:
                    calls.setdefault(name, []).append(out)

    base = results.get("none")
    if not base:
        sys.exit(f"the baseline without a logger failed: {failed.get('none')}")
    med = {
        name: {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        for name, runs in results.items()
        if runs
    }
    b = med["none"]
    print(
        f"\ntiny Lightning model on CPU ({args.threads} torch thread), {args.steps} steps, {args.metrics}"
        f" metrics per step via self.log, log_every_n_steps=1; medians of {args.repeats} runs, each in"
        f" its own process"
    )
    head = (
        f"{'logger':16} {'fit s':>7} {'slower':>7} {'ms/step':>8} {'slower':>7} {'cpu ms/step':>11} "
        f"{'slower':>7} {'cpu range':>15} {'+cpu ms':>8} {'@100/s':>7} {'own ms':>7} {'steps/s':>7} "
        f"{'RSS MB':>7}"
    )
    print(head)
    print("-" * len(head))
    for name, m in med.items():
        runs = results[name]
        lo, hi = (
            100 * (min(r["step_cpu"] for r in runs) / b["step_cpu"] - 1),
            100 * (max(r["step_cpu"] for r in runs) / b["step_cpu"] - 1),
        )
        added = m["step_cpu"] - b["step_cpu"]
        own = (m["step_cpu"] - med["noop"]["step_cpu"]) * 1e3 if "noop" in med and name != "none" else None
        print(
            f"{name:16} {m['fit']:7.3f} {100 * (m['fit'] / b['fit'] - 1):+6.1f}% {m['step'] * 1e3:8.2f} "
            f"{100 * (m['step'] / b['step'] - 1):+6.1f}% {m['step_cpu'] * 1e3:11.2f} "
            f"{100 * (m['step_cpu'] / b['step_cpu'] - 1):+6.1f}% {f'{lo:+.1f}..{hi:+.1f}%':>15} "
            f"{added * 1e3:+8.3f} {100 * added / 0.01:+6.1f}% {_fmt(own, '+7.3f')} {1 / m['step']:7.1f} "
            f"{m['rss']:7.1f}"
        )
    for name, reason in failed.items():
        print(f"{name:16} {reason}")
    print(
        f"\nfit: trainer.fit wall time (the logger's final flush included); ms/step: wall time per step"
        f" after {WARMUP} warm-up steps; cpu ms/step: the process's CPU time per step (all threads, the"
        " loggers' background writers included; less disturbed than wall time on a busy machine);"
        " slower: against no logger; cpu range: fastest and slowest run against the no-logger median"
        " (the 'none' row shows the noise); +cpu ms: CPU the logger adds per step; @100/s: that as a"
        " share of a 10 ms step (a model training at 100 steps/s); own ms: CPU per step beyond the noop"
        " logger's, i.e. the logger's own code."
    )
    if calls:
        print(
            f"\nthe logger alone: logger.log_metrics({args.metrics} floats + epoch, step) called directly"
            f" {args.direct_steps} times, then logger.finalize(); medians of {args.repeats} runs"
        )
        head = f"{'logger':16} {'us/step':>8} {'thread cpu us':>13} {'process cpu us':>14} {'finalize s':>10}"
        print(head)
        print("-" * len(head))
        for name, runs in calls.items():
            m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"{name:16} {m['call'] * 1e6:8.1f} {m['call_cpu'] * 1e6:13.1f} "
                f"{m['call_proc'] * 1e6:14.1f} {m['finalize']:10.3f}"
            )
        print(
            "us/step: wall time of one call; thread cpu: the calling thread's CPU per call; process cpu:"
            " all threads' CPU per step, background writing and the final flush included."
        )
    if "naiad-nocapture" in med:
        _capture_overhead(med, results, args.print_every)
    print(f"(benchmark took {time.perf_counter() - start:.0f} s)")


def _capture_overhead(
    med: dict[str, dict[str, float]], results: dict[str, list[dict[str, Any]]], print_every: int
) -> None:
    """Each capture part against naiad with capture off: the same training, medians, ratios."""
    off = med["naiad-nocapture"]
    printing = f"a line printed every {print_every} step(s)" if print_every else "no printing"
    print(f"\ncapture overhead against naiad-nocapture ({printing}; medians of each variant's runs)")
    ratio = f"{'ratio':>6}"
    head = f"{'part':36} {'fit s':>7} {ratio} {'ms/step':>8} {ratio} {'cpu ms/step':>11} {ratio}"
    print(head)
    print("-" * len(head))
    parts = (
        ("naiad-console", "console capture (stdout, stderr)"),
        ("naiad-monitor-1s", "system metrics, sampled every 1 s"),
        ("naiad", "both, defaults (metrics every 10 s)"),
    )
    print(f"{'off (naiad-nocapture)':36} {off['fit']:7.3f} {'':>6} {off['step'] * 1e3:8.3f} {'':>6} "
          f"{off['step_cpu'] * 1e3:11.3f}")  # fmt: skip
    for name, what in parts:
        if name in med:
            on = med[name]
            print(
                f"{what:36} {on['fit']:7.3f} {on['fit'] / off['fit']:6.3f} {on['step'] * 1e3:8.3f} "
                f"{on['step'] / off['step']:6.3f} {on['step_cpu'] * 1e3:11.3f} "
                f"{on['step_cpu'] / off['step_cpu']:6.3f}"
            )
    spread = [r["step_cpu"] for r in results["naiad-nocapture"]]
    print(
        f"(noise: naiad-nocapture's own cpu ms/step ranged {min(spread) * 1e3:.3f}..{max(spread) * 1e3:.3f}"
        " over its runs)"
    )


if __name__ == "__main__":
    main()
