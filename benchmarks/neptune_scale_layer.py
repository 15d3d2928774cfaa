"""What the neptune-scale layer costs on top of naiad.Run: the same metrics loop through both.

Each variant runs in its own process and is repeated; the table shows the median time of the
logging calls (the training thread's cost; the writer works in the background) and the
layer's ratio to naiad.Run in the same run of this script.

    python benchmarks/neptune_scale_layer.py --steps 20000 --metrics 10 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

WORKER = r"""
import json, sys, time
kind, steps, metrics = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keys = [f"train/metric_{i}" for i in range(metrics)]
rows = [{k: (s * 7 + i) % 1000 / 997.0 for i, k in enumerate(keys)} for s in range(steps)]
if kind == "naiad":
    import naiad
    run = naiad.Run(run_id="b", capture_stdout=False, capture_stderr=False, capture_hardware_metrics=False)
else:
    from naiad.neptune_scale import Run
    run = Run(run_id="b", enable_console_log_capture=False, source_tracking_config=None)
log = run.log_metrics
t0 = time.perf_counter()
for s in range(steps):
    log(rows[s], step=s)
call = time.perf_counter() - t0
run.close()
print(json.dumps({"call": call, "total": time.perf_counter() - t0}))
"""


def once(kind: str, steps: int, metrics: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="naiad-nscale-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NAIAD_", "NEPTUNE_"))}
        env.update(NAIAD_STORE=os.path.join(tmp, "store"), NAIAD_CAPTURE_HARDWARE_METRICS="false")
        out = subprocess.run(
            [sys.executable, "-c", WORKER, kind, str(steps), str(metrics)],
            cwd=tmp,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
        return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--metrics", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"naiad": [], "neptune_scale": []}
    for _ in range(args.repeats):  # interleaved, so drift on a shared machine hits both
        for kind, rows in results.items():
            rows.append(once(kind, args.steps, args.metrics))
    base = {m: statistics.median(r[m] for r in results["naiad"]) for m in ("call", "total")}
    print(f"{args.steps} steps x {args.metrics} metrics, median of {args.repeats}")
    print(f"{'variant':<16}{'calls (s)':>12}{'us/call':>10}{'ratio':>8}{'with close (s)':>16}{'ratio':>8}")
    for kind, rows in results.items():
        call = statistics.median(r["call"] for r in rows)
        total = statistics.median(r["total"] for r in rows)
        print(
            f"{kind:<16}{call:>12.3f}{call / args.steps * 1e6:>10.2f}{call / base['call']:>8.2f}"
            f"{total:>16.3f}{total / base['total']:>8.2f}"
        )


if __name__ == "__main__":
    main()
