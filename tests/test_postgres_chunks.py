"""The team store's float-series chunks on a real PostgreSQL server: a series logged a point
per batch ends up packed and summarized like a bulk append, an append past the chunk cap is
split into several chunks (on the embedded store too), and every point still reads back bit
for bit, through the store seam, ``fetch_values`` and the chart, with two processes writing
one run."""

from __future__ import annotations

import itertools
import json
import math
import struct
import subprocess
import sys
from array import array
from typing import Any

import numpy as np
import pytest
from test_chunk_summaries import PATH, assert_real_and_extremes, noisy, spec, write

import naiad
from naiad._read import float_series, lineage
from naiad._storage import _codec, open_store
from naiad._storage._records import Chunk, Floats
from naiad._types import STEP_SCALE
from naiad._ui._series import one_series

psycopg = pytest.importorskip("psycopg")

_NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0x7FF8_DEAD_BEEF_0001))[0]


def _chunk_rows(uri: str) -> tuple[int, int, int]:
    """(chunk rows, points, bytes of every chunk column: steps, values, times, summaries)."""
    base, schema = uri.split("?schema=")
    with psycopg.connect(base, autocommit=True) as c:
        row = c.execute(
            "SELECT count(*), sum(n), sum(octet_length(steps) + octet_length(vals) + octet_length(ts) "
            "+ coalesce(octet_length(summary), 0) + coalesce(octet_length(coarse), 0)) "
            f'FROM "{schema}".chunks'
        ).fetchone()  # type: ignore[arg-type] - the schema is a test uuid
    return int(row[0]), int(row[1]), int(row[2])


def _stored(store: Any, pk: int, path: str) -> list[bytes]:
    """The series' steps, values and times as stored, each column's bytes concatenated."""
    cols = zip(*(_codec.columns(c) for c in store.chunks(pk, path, None)))
    return [np.concatenate(c).tobytes() for c in cols]


def test_a_series_logged_a_point_per_batch_is_packed_summarized_and_exact(postgres_uri: str) -> None:
    """5,000 batches of one point each (a training loop's trickle) are stored in a few packed
    chunks at under 16 bytes a point, summaries included, and read back bit for bit; the
    chart drawn from their summaries keeps every extreme."""
    n = 5000
    values = noisy(n, 7)
    values[[11, 2222]] = [-0.0, _NAN_PAYLOAD]  # and noisy's NaN
    store = open_store(postgres_uri)
    try:
        pk = write(store, "a", np.arange(n), values, batch=1)
        rows, points, size = _chunk_rows(postgres_uri)
        assert points == n
        assert size / n <= 16, f"{size / n:.1f} bytes a point"
        assert rows <= 100  # not 5,000 rows, nor the 313 raw 16-point ones of a concatenation
        assert any(c.codec == _codec.PACKED for c in store.chunks(pk, PATH, None))
        steps, vals, stamps = _stored(store, pk, PATH)
        assert vals == values.tobytes()
        assert steps == (np.arange(n) * STEP_SCALE).tobytes()
        assert stamps == (1000.0 + np.arange(n) * 0.5).tobytes()
        sums = store.chunk_summaries(pk, PATH, None)
        assert sum(s.count for s in sums) == n and all(s.picks is not None for s in sums)
        rec = store.find_run("p", "a")
        assert rec is not None
        got = one_series(store, rec, lineage(store, rec), PATH, width=60)
        assert got["downsampled"]
        assert_real_and_extremes(store, "a", "step", got)
    finally:
        store.close()


def test_merging_raw_and_packed_chunks_keeps_every_bit() -> None:
    """What a compaction decodes (runs of one-point raw chunks around packed ones, NaN
    payloads and -0.0 among the values) comes back in order, bit for bit."""
    rng = np.random.default_rng(11)
    values = rng.standard_normal(2000)
    values[[3, 700, 1999]] = [-0.0, _NAN_PAYLOAD, math.nan]
    steps = np.cumsum(rng.integers(1, 5, 2000)) * STEP_SCALE
    stamps = 1.7e9 + np.cumsum(rng.exponential(0.1, 2000))
    cuts = [0, 1, 2, 3, 600, 601, 602, 1400, 1999, 2000]  # raw ones, packed ones, raw again
    chunks = []
    for a, b in itertools.pairwise(cuts):
        cols = (
            array("q", steps[a:b].tolist()),
            array("d", values[a:b].tolist()),
            array("d", stamps[a:b].tolist()),
        )
        codec, *blobs = _codec.encode(*cols)
        chunks.append(Chunk(int(steps[a]), int(steps[b - 1]), b - a, *blobs, codec))
    assert {c.codec for c in chunks} == {_codec.RAW, _codec.PACKED}
    got = _codec.concat(chunks)
    assert [g.tobytes() for g in got] == [steps.tobytes(), values.tobytes(), stamps.tobytes()]


@pytest.mark.backends("sqlite", "postgres")
def test_an_append_past_the_chunk_cap_is_split_and_reads_back_exactly(store: Any) -> None:
    """One append of 2,500,000 points becomes at least three chunks, none over the cap (on
    both stores); the series and a range inside it read back exactly, and the head and count
    are the series'."""
    location = store  # a directory or a PostgreSQL URI
    n = 2_500_000
    rng = np.random.default_rng(3)
    steps = np.arange(n, dtype=np.int64) * STEP_SCALE
    values = rng.standard_normal(n)
    stamps = 1.7e9 + np.arange(n) * 0.001
    store = open_store(location)
    try:
        rec = store.open_run(spec("big"))
        cols = (array("q", steps.tobytes()), array("d", values.tobytes()), array("d", stamps.tobytes()))
        assert store.write_batch(rec.pk, [Floats(PATH, *cols)]) == []
        chunks = store.chunks(rec.pk, PATH, None)
        assert len(chunks) >= 3 and max(c.count for c in chunks) <= _codec.CHUNK_MAX_POINTS
        assert min(c.count for c in chunks) >= _codec.CHUNK_MAX_POINTS // 2  # no tiny leftover
        assert _stored(store, rec.pk, PATH) == [steps.tobytes(), values.tobytes(), stamps.tobytes()]
        field = store.field(rec.pk, PATH)
        assert field is not None and field.count == n and field.step == steps[-1]
        lo, hi = 1_000_000, 1_700_000  # across a chunk boundary
        part = float_series(store, lineage(store, rec), PATH, step_range=(lo, hi))
        assert part["value"].tobytes() == values[lo : hi + 1].tobytes()
        assert part["step"].tobytes() == steps[lo : hi + 1].tobytes()
    finally:
        store.close()


def test_a_batch_of_many_small_appends_to_one_series_is_merged_as_it_goes(postgres_uri: str) -> None:
    """One batch holding 3,000 one-point appends to one series (as a copy of a store logged a
    point at a time sends them) leaves a few packed chunks, every point exact and in order."""
    n = 3000
    values = noisy(n, 5)
    store = open_store(postgres_uri)
    try:
        rec = store.open_run(spec("copy"))
        ops = [
            Floats(PATH, array("q", [i * STEP_SCALE]), array("d", [values[i]]), array("d", [1.0 + i]))
            for i in range(n)
        ]
        assert store.write_batch(rec.pk, ops) == []
        chunks = store.chunks(rec.pk, PATH, None)
        assert len(chunks) <= 100 and any(c.codec == _codec.PACKED for c in chunks)
        steps, vals, stamps = _stored(store, rec.pk, PATH)
        assert vals == values.tobytes() and steps == (np.arange(n) * STEP_SCALE).tobytes()
        assert stamps == (1.0 + np.arange(n, dtype=np.float64)).tobytes()
        field = store.field(rec.pk, PATH)
        assert field is not None and field.count == n
    finally:
        store.close()


@pytest.mark.parametrize("head", [999, 833_333], ids=["inside-a-chunk", "at-a-chunk-boundary"])
def test_a_split_append_overtaken_by_another_writer_keeps_only_the_new_points(
    postgres_uri: str, head: int
) -> None:
    """Another writer got to step ``head`` first: of a 2,500,000-point append (three chunks)
    exactly the points after it are written, the rest reported dropped, whether its head lies
    inside the first chunk or exactly at its end."""
    n = 2_500_000
    steps = np.arange(n, dtype=np.int64) * STEP_SCALE
    values = np.arange(n, dtype=np.float64) * 0.25
    stamps = np.full(n, 1.7e9)
    other = open_store(postgres_uri)
    mine = open_store(postgres_uri)
    try:
        rec = other.open_run(spec("race"))
        first = np.arange(head + 1)
        their = (array("q", steps[first].tobytes()), array("d", (-values[first]).tobytes()))
        other.write_batch(rec.pk, [Floats(PATH, *their, array("d", stamps[first].tobytes()))])
        cols = (array("q", steps.tobytes()), array("d", values.tobytes()), array("d", stamps.tobytes()))
        warnings = mine.write_batch(rec.pk, [Floats(PATH, *cols)])
        assert len(warnings) == 1 and f"{head + 1} point(s) at or before step {head}" in warnings[0]
        got = _stored(mine, rec.pk, PATH)
        assert got[0] == steps.tobytes()
        assert got[1] == np.concatenate((-values[: head + 1], values[head + 1 :])).tobytes()
        field = mine.field(rec.pk, PATH)
        assert field is not None and field.count == n
    finally:
        other.close()
        mine.close()


_WRITER = r"""
import json, sys, time
from array import array
from naiad._storage import open_store
from naiad._storage._records import Floats, RunSpec
uri, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = open_store(uri)
rec = store.open_run(RunSpec("p", "shared", None, None, None, 1.0, "o", "h"))
dropped = 0
b = who == "b"
for i in range(n):
    one = lambda v: (array("q", [i * 1_000_000]), array("d", [v]), array("d", [1000.0 + i]))
    ops = [Floats(f"own/{who}", *one(i * 0.5 + b)), Floats("both", *one(i + 0.25 * b))]
    for w in store.write_batch(rec.pk, ops):
        dropped += int(w.split(": ")[1].split(" ")[0])
store.close()
print(json.dumps({"dropped": dropped}))
"""


def test_two_processes_logging_a_point_per_batch_into_one_run(postgres_uri: str) -> None:
    """Two writer processes trickle points into one run, each into its own series and both
    into a shared one: each own series is complete, exact and packed; the shared one holds
    each step once, from one of them, and every point not stored was reported dropped."""
    n = 2500
    open_store(postgres_uri).close()  # the tables exist before the two race to create them
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, postgres_uri, who, str(n)], stdout=subprocess.PIPE, text=True
        )
        for who in ("a", "b")
    ]
    outs = [json.loads(p.communicate(timeout=300)[0]) for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    store = open_store(postgres_uri, create=False)
    try:
        rec = store.find_run("p", "shared")
        assert rec is not None
        for who, extra in (("a", 0.0), ("b", 1.0)):
            steps, vals, _ = _stored(store, rec.pk, f"own/{who}")
            assert steps == (np.arange(n) * STEP_SCALE).tobytes()
            assert vals == (np.arange(n) * 0.5 + extra).tobytes()
            assert len(store.chunks(rec.pk, f"own/{who}", None)) <= 100
        steps_b, vals_b, _ = _stored(store, rec.pk, "both")
        s = np.frombuffer(steps_b, np.int64) // STEP_SCALE
        v = np.frombuffer(vals_b, np.float64)
        assert (s == np.arange(n)).all()  # each step once, in order: the first writer's point
        assert np.isin(v - s, [0.0, 0.25]).all()  # every stored value is one a writer logged there
        assert sum(o["dropped"] for o in outs) == n  # the other writer's point, reported dropped
        field = store.field(rec.pk, "both")
        assert field is not None and field.count == s.size
        assert sum(c.count for c in store.chunk_summaries(rec.pk, "both", None)) == s.size
    finally:
        store.close()
    with naiad.Run(store=postgres_uri, run_id="shared", project="p", mode="read-only") as run:
        df = run["own/a"].fetch_values()
    assert df["value"].to_numpy().tobytes() == (np.arange(n) * 0.5).tobytes()
