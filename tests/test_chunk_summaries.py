"""Charts over wide ranges read per-chunk summaries, and still draw only stored points.

A chart's series must be made of real stored points, and keep the series' first, last,
smallest and largest point, whether it came from summaries, points, or both (zoomed in, at
the edges, across a fork, on chunks stored before summaries existed). Checked on real
stores against the raw series read point by point.
"""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import numpy as np
import pytest
from _downgrade import sqlite_back_to

from naiad._overview import float_overview
from naiad._read import float_series, lineage
from naiad._storage import FloatRow, Floats, RunSpec, RunStore, open_store
from naiad._storage._schema import SCHEMA_VERSION
from naiad._storage._sqlite_append import COMPACT_EVERY, SUMMARIZED_FROM
from naiad._storage._summary import BLOCK, columns, summarize
from naiad._types import STEP_SCALE
from naiad._ui._series import chart, m4_indices, one_series
from naiad.testing import MemoryStore

PATH = "training/train/loss"


def spec(run_id: str, **kw: object) -> RunSpec:
    base: dict[str, object] = {"fork_parent": None, "fork_step": None, **kw}
    return RunSpec("p", run_id, "e", creation_time=1.0, owner="o", hostname="h", **base)  # type: ignore[arg-type]


def write(
    store: RunStore, run_id: str, steps: np.ndarray, values: np.ndarray, batch: int, **kw: object
) -> int:
    """Log ``values`` at ``steps`` in batches of ``batch`` points (as a training would)."""
    rec = store.open_run(spec(run_id, **kw))
    for lo in range(0, steps.size, batch):
        hi = min(steps.size, lo + batch)
        store.write_batch(
            rec.pk,
            [
                Floats(
                    PATH,
                    array("q", (steps[lo:hi] * STEP_SCALE).tolist()),
                    array("d", values[lo:hi].tolist()),
                    array("d", (1000.0 + steps[lo:hi] * 0.5).tolist()),
                )
            ],
        )
    return rec.pk


def noisy(n: int, seed: int = 0) -> np.ndarray:
    """A decaying noisy curve with a one-point spike up, one down, and a NaN."""
    rng = np.random.default_rng(seed)
    values = np.exp(-np.arange(n) / (n / 4)) + rng.random(n) * 0.05
    values[n // 3] = 50.0
    values[2 * n // 3] = -20.0
    values[n // 2] = math.nan
    return values


def assert_real_and_extremes(store: RunStore, run_id: str, x: str, got: dict[str, object]) -> None:
    """Every drawn point is a stored one; first, last, min and max are drawn."""
    rec = store.find_run("p", run_id)
    assert rec is not None
    raw = float_series(store, lineage(store, rec), PATH)
    steps, values, stamps = raw["step"] / STEP_SCALE, raw["value"], raw["timestamp"]
    xs, ys = np.array(got["x"], dtype=float), np.array([np.nan if v is None else v for v in got["y"]])  # type: ignore[attr-defined]
    key = steps if x == "step" else stamps
    at = np.searchsorted(key, xs)
    assert np.all(key[at] == xs), "a drawn x is not a stored point's"
    assert np.array_equal(values[at], ys, equal_nan=True), "a drawn value is not the stored one at its x"
    drawn = set(at.tolist())
    assert {0, steps.size - 1} <= drawn  # the first and the last point
    assert int(np.nanargmin(values)) in drawn and int(np.nanargmax(values)) in drawn
    assert got["n"] == steps.size  # the chart says how many points it stands for


@pytest.mark.parametrize(
    ("x", "width", "read"), [("step", 200, 4), ("time", 200, 4), ("step", 50, 128), ("time", 50, 128)]
)
def test_a_wide_chart_draws_stored_points_with_every_extreme(
    tmp_path: Path, x: str, width: int, read: int
) -> None:
    """100,000 points in chunks of 5,000 drawn 200 columns wide (from the 32-point blocks'
    summaries) or 50 wide (from the 1,024-point ones): the chart holds only stored points,
    among them the spikes and both ends."""
    store = open_store(tmp_path / "store")
    n = 100_000
    write(store, "a", np.arange(n), noisy(n), batch=5_000)
    rec = store.find_run("p", "a")
    assert rec is not None
    got = one_series(store, rec, lineage(store, rec), PATH, x=x, width=width)
    assert got["downsampled"] and len(got["x"]) <= 4 * width
    assert_real_and_extremes(store, "a", x, got)
    cols = float_overview(store, lineage(store, rec), PATH, width=width, x=x)
    assert cols["step"].size < n / read  # it read summaries, not the points
    assert int(cols["counts"].sum()) == n
    store.close()


@pytest.mark.parametrize("x", ["step", "time"])
def test_zoomed_in_a_chart_reads_the_points_and_draws_them_all(tmp_path: Path, x: str) -> None:
    """A step range narrower than a few pixel columns per block comes back point for point,
    including the edges of chunks that stick out of it."""
    store = open_store(tmp_path / "store")
    n = 20_000
    values = noisy(n)
    write(store, "a", np.arange(n), values, batch=500)
    rec = store.find_run("p", "a")
    assert rec is not None
    # chunks 3,000-3,499 ... 5,500-5,999 lie inside, but a column is 3.45 steps: finer than a block
    got = one_series(store, rec, lineage(store, rec), PATH, x=x, width=1000, step_from=2_950, step_to=6_400)
    assert not got["downsampled"] and got["n"] == 3_451
    ys = np.array([np.nan if v is None else v for v in got["y"]])
    assert np.array_equal(ys, values[2950:6401], equal_nan=True)
    store.close()


def test_a_chart_across_a_fork_keeps_each_segment_real(tmp_path: Path) -> None:
    """A fork stitched from its parent: both links come from summaries, the parent's last
    point before the fork is drawn and the segments count every stored point."""
    store = open_store(tmp_path / "store")
    write(store, "parent", np.arange(60_000), noisy(60_000, 1), batch=10_000)
    write(
        store, "child", np.arange(30_001, 80_000), noisy(49_999, 2), batch=10_000,
        fork_parent="parent", fork_step=30_000,
    )  # fmt: skip
    out = chart(store, "p", ["child"], [PATH], width=100)
    [got] = out["charts"][PATH]
    assert_real_and_extremes(store, "child", "step", got)
    assert [(s["run"], s["n"]) for s in got["segments"]] == [("parent", 30_001), ("child", 49_999)]
    assert got["forks"][0]["x"] == 30_000.0
    store.close()


def test_chunks_stored_before_summaries_are_drawn_from_their_points(tmp_path: Path) -> None:
    """A store written by schema 3 (no summaries) is upgraded on open and its charts are the
    same as drawn from every point; chunks written after the upgrade get summaries."""
    root = tmp_path / "store"
    store = open_store(root)
    n = 40_000
    write(store, "a", np.arange(n), noisy(n), batch=8_000)
    rec = store.find_run("p", "a")
    assert rec is not None
    store.close()
    sqlite_back_to(root / "naiad.db", 3)
    store = open_store(root)
    assert store.stats().schema_version == SCHEMA_VERSION
    assert all(c.picks is None for c in store.chunk_summaries(rec.pk, PATH, None))
    got = one_series(store, rec, lineage(store, rec), PATH, width=150)
    assert_real_and_extremes(store, "a", "step", got)
    raw = float_series(store, lineage(store, rec), PATH)  # what a chart drew before summaries
    xs = raw["step"] / STEP_SCALE
    assert got["x"] == xs[m4_indices(xs, raw["value"], 150)].tolist()
    more = range(n, n + SUMMARIZED_FROM)  # a chunk big enough to have a summary
    steps = array("q", [s * STEP_SCALE for s in more])
    store.write_batch(rec.pk, [Floats(PATH, steps, array("d", [0.5] * len(more)), array("d", more))])
    assert store.chunk_summaries(rec.pk, PATH, None)[-1].picks is not None
    store.close()


def test_a_chunk_summary_is_its_blocks_first_last_min_and_max() -> None:
    """Each block of BLOCK points keeps its ends and extremes (NaN is none); tiny chunks
    keep every point."""
    n = 3 * BLOCK + 5
    values = np.linspace(0, 1, n)
    values[BLOCK + 7] = 9.0
    values[2 * BLOCK + 3] = -9.0
    values[5] = math.nan
    steps = np.arange(n, dtype=np.int64) * 10
    stored = array("q", steps.tolist()), array("d", values.tolist()), array("d", (steps / 2).tolist())
    s, v, t = columns(summarize(*stored))
    picked = set((s // 10).tolist())
    for b in range(0, n, BLOCK):
        block = values[b : b + BLOCK]
        assert {
            b,
            min(n, b + BLOCK) - 1,
            b + int(np.nanargmin(block)),
            b + int(np.nanargmax(block)),
        } <= picked
    assert len(picked) <= 4 * (n // BLOCK + 1) and np.array_equal(v, values[s // 10], equal_nan=True)
    assert np.array_equal(t, s / 2)
    s, _, _ = columns(summarize(array("q", [1, 2, 3]), array("d", [0.1, 0.2, 0.3]), array("d", [1, 2, 3])))
    assert s.tolist() == [1, 2, 3]


def test_the_memory_store_draws_the_same_chart() -> None:
    """naiad.testing's store (one chunk per range) charts from its summary too."""
    store = MemoryStore()
    n = 10_000
    write(store, "a", np.arange(n), noisy(n), batch=2_500)
    rec = store.find_run("p", "a")
    assert rec is not None
    got = one_series(store, rec, lineage(store, rec), PATH, width=50)
    assert got["downsampled"]
    assert_real_and_extremes(store, "a", "step", got)


def test_small_batches_extended_and_merged_keep_their_summaries(tmp_path: Path) -> None:
    """A series logged 37 points at a time (its open chunk rewritten, then small chunks
    merged by compaction) keeps a summary for every chunk but the few small ones at its end,
    and charts from them."""
    store = open_store(tmp_path / "store")
    n = 12_000
    write(store, "a", np.arange(n), noisy(n, 3), batch=37)
    rec = store.find_run("p", "a")
    assert rec is not None
    sums = store.chunk_summaries(rec.pk, PATH, None)
    assert len(sums) < n // 37  # merged
    assert all(c.picks is not None for c in sums if c.count >= SUMMARIZED_FROM)
    assert sum(c.count for c in sums if c.picks is None) < COMPACT_EVERY * SUMMARIZED_FROM
    got = one_series(store, rec, lineage(store, rec), PATH, width=40)
    assert got["downsampled"]
    assert_real_and_extremes(store, "a", "step", got)
    store.close()


def test_series_of_one_point_made_in_bulk_are_drawn_and_counted(tmp_path: Path) -> None:
    """A wide step's series keep their one point in the field row (no chunk, no summary):
    a chart still draws it and the store counts it."""
    store = open_store(tmp_path / "store")
    rec = store.open_run(spec("a"))
    store.write_batch(rec.pk, [FloatRow([PATH, "other"], 3 * STEP_SCALE, 1000.0, array("d", [0.5, 1.5]))])
    got = one_series(store, rec, lineage(store, rec), PATH, width=50)
    assert got["x"] == [3.0] and got["y"] == [0.5]
    assert store.stats().points == 2
    store.close()
