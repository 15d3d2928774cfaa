"""What console capture costs a script that prints a lot: 100 MB of 1,000-byte lines.

Each variant runs in its own process, stdout to a pipe that is drained (like a terminal or a
log file): no run; a run with console capture off; a run with console capture on (default).
Prints wall time and the slowdown of capture against the run without it.

    python benchmarks/console_capture.py              # 100 MB, 3 repeats
    python benchmarks/console_capture.py --mb 20 --repeats 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

SCRIPT = """
import sys, naiad
variant, lines = sys.argv[1], int(sys.argv[2])
line = "y" * 999
if variant == "none":
    for _ in range(lines):
        print(line)
else:
    on = variant == "capture"
    with naiad.Run(run_id="b", store="store", capture_stdout=on, capture_stderr=on,
                   capture_hardware_metrics=False):
        for _ in range(lines):
            print(line)
"""


def once(variant: str, lines: int) -> float:
    with tempfile.TemporaryDirectory(prefix="naiad-console-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NAIAD_")}
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", SCRIPT, variant, str(lines)],
            cwd=tmp, env=env, stdout=subprocess.DEVNULL, check=True,
        )  # fmt: skip
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    lines = args.mb * 1000
    times: dict[str, list[float]] = {"none": [], "off": [], "capture": []}
    for _ in range(args.repeats):
        for variant, got in times.items():
            got.append(once(variant, lines))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.mb} MB printed as {lines} lines of 1,000 bytes; medians of {args.repeats} runs")
    for variant, t in med.items():
        print(f"{variant:8} {t:7.2f} s")
    print(f"console capture slows the script {med['capture'] / med['off']:.2f}x against capture off")


if __name__ == "__main__":
    main()
