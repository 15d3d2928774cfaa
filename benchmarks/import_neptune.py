"""``naiad import neptune`` throughput (rows/s) and peak memory on a generated export.

The export is float series (the bulk of any real export) over a few 3.x runs, written in
parts of about 2,000,000 rows. The import runs in its own process (``naiad import neptune``,
as a user runs it) so that its peak RSS is its own; the floor beside it is a plain pyarrow
read of the same parts, in another process.

    python benchmarks/import_neptune.py --rows 10000000
    python benchmarks/import_neptune.py --rows 2000000 --runs 1 --metrics 1   # one 2 M-point run
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "neptune_import"))

RSS = (  # VmHWM: the peak of this process image (ru_maxrss would count the forking parent's)
    "import sys; print('RSS', [int(l.split()[1]) for l in open('/proc/self/status') "
    "if l.startswith('VmHWM:')][0], file=sys.stderr)"
)
IMPORT = f"""
import sys
from naiad._cli import main
status = main(sys.argv[1:])
{RSS}
sys.exit(status)
"""
READ_ONLY = (
    r"""
import sys, pyarrow.parquet as pq
from pathlib import Path
n = 0
for part in sorted(Path(sys.argv[1]).rglob("*.parquet")):
    for batch in pq.ParquetFile(part).iter_batches(batch_size=131072):
        n += batch.num_rows
print(n)
"""
    + RSS
)


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """(seconds, peak RSS in MiB of the child, stdout)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed:\n{proc.stderr}")
    peak = [int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("RSS ")]
    if not peak:
        raise SystemExit(f"no RSS reported by {cmd[:3]}:\n{proc.stderr}")
    return seconds, peak[-1] / 1024, proc.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="float-series rows in the export")
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--metrics", type=int, default=10, help="series per run")
    args = parser.parse_args()
    from _neptune_export import write_big_export

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        export = write_big_export(root / "export", args.rows, runs=args.runs, metrics=args.metrics)
        (export.files).mkdir(parents=True, exist_ok=True)
        parts = sorted(export.data.rglob("*.parquet"))
        size = sum(p.stat().st_size for p in parts) / 2**20
        print(
            f"export: {args.rows:,} rows, {args.runs} runs x {args.metrics} series, {len(parts)} parts, "
            f"{size:.0f} MiB, written in {time.perf_counter() - t0:.1f} s"
        )
        read_s, read_rss, out = timed([sys.executable, "-c", READ_ONLY, str(export.data)])
        rows = int(out.strip())
        store = root / "store"
        cmd = [
            sys.executable,
            "-c",
            IMPORT,
            "--store",
            str(store),
            "import",
            "neptune",
            str(export.data),
            str(export.files),
        ]
        import_s, import_rss, _ = timed(cmd)
        again_s, _, again = timed(cmd)
        db = sum(p.stat().st_size for p in store.glob("naiad.db*")) / 2**20
        print(f"{'':24}{'seconds':>10}{'rows/s':>14}{'peak RSS MiB':>14}")
        print(f"{'pyarrow read (floor)':24}{read_s:10.2f}{rows / read_s:14,.0f}{read_rss:14.0f}")
        print(f"{'naiad import neptune':24}{import_s:10.2f}{rows / import_s:14,.0f}{import_rss:14.0f}")
        print(f"{'second import (no-op)':24}{again_s:10.2f}{'':>14}{'':>14}")
        print(
            f"import / read: {import_s / read_s:.1f}x; store {db:.0f} MiB; "
            f"second import: {again.strip().splitlines()[-1]}"
        )


if __name__ == "__main__":
    main()
