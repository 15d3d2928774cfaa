"""Packed float-series chunks: every step, value and timestamp comes back bit for bit, through
the codec itself, through each store backend, and from chunks written before schema 4."""

from __future__ import annotations

import math
import sqlite3
import struct
import time
from array import array
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _downgrade import postgres_back_to, sqlite_back_to
from hypothesis import given, settings
from hypothesis import strategies as st

import naiad
from naiad._storage import _codec, open_store
from naiad._storage._records import Chunk, Floats, RunSpec
from naiad._types import STEP_SCALE
from naiad.errors import StorageError

_I64 = st.integers(-(2**63), 2**63 - 1)
_SPECIAL = [
    math.nan,
    -0.0,
    0.0,
    math.inf,
    -math.inf,
    5e-324,
    -2.2250738585072014e-308,
    1.7976931348623157e308,
]
_NAN_PAYLOAD = struct.unpack("<d", struct.pack("<Q", 0x7FF8_DEAD_BEEF_0001))[0]


def _floats_from_bits(bits: list[int]) -> array[float]:
    """Any float64 bit pattern (NaN payloads, subnormals, -0.0) as an array('d')."""
    return array("d", array("q", bits).tobytes())


def _round_trip(steps: array[int], values: array[float], stamps: array[float], raw_below: int) -> None:
    codec, s, v, t = _codec.encode(steps, values, stamps, raw_below=raw_below)
    chunk = Chunk(steps[0], steps[-1], len(steps), s, v, t, codec)
    got = _codec.columns(chunk)
    assert got[0].tobytes() == steps.tobytes()
    assert got[1].tobytes() == values.tobytes()
    assert got[2].tobytes() == stamps.tobytes()
    assert [a.tobytes() for a in _codec.arrays(chunk)] == [
        steps.tobytes(),
        values.tobytes(),
        stamps.tobytes(),
    ]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_I64, _I64, _I64), min_size=1, max_size=600),
    st.sampled_from([1, 2, _codec.RAW_BELOW]),
)
def test_any_bits_round_trip(points: list[tuple[int, int, int]], raw_below: int) -> None:
    """Arbitrary steps and arbitrary float bit patterns, raw or packed, decode bit-identical."""
    steps = array("q", [p[0] for p in points])
    _round_trip(
        steps, _floats_from_bits([p[1] for p in points]), _floats_from_bits([p[2] for p in points]), raw_below
    )


@settings(max_examples=100, deadline=None)
@given(
    start=_I64,
    stride=st.integers(-(2**40), 2**40),
    n=st.integers(1, 3000),
    jitter=st.lists(st.integers(-3, 3), max_size=20),
    value=st.sampled_from([*_SPECIAL, _NAN_PAYLOAD, 0.1]),
)
def test_progressions_times_and_specials_round_trip(
    start: int, stride: int, n: int, jitter: list[int], value: float
) -> None:
    """The shapes the codec packs hardest (regular steps, clock-like times, one repeated special
    value) still decode exactly, overflowing int64 arithmetic included."""
    base = np.arange(n, dtype=np.int64) * np.int64(stride) + np.int64(start)  # wraps, as stored
    for i, j in enumerate(jitter):
        at = (i * 7919) % n
        base[at : at + 1] += j  # array arithmetic: wraps like the stored steps
    stamps = 1.7e9 + np.arange(n) * 0.01
    stamps[:: max(1, n // 5)] = value
    _round_trip(array("q", base.tolist()), array("d", [value] * n), array("d", stamps.tolist()), 2)


def test_logged_series_are_stored_in_a_fraction_of_the_raw_bytes() -> None:
    n = 100_000
    steps = array("q", range(0, n * STEP_SCALE, STEP_SCALE))
    stamps = array("d", (1.7e9 + i * 0.01 for i in range(n)))
    values = array("d", (1.0 / (i + 1) for i in range(n)))
    codec, s, v, t = _codec.encode(steps, values, stamps)
    assert codec == _codec.PACKED
    assert len(s) < 32 and len(t) < n and len(v) < 5 * n  # raw is 8 * n bytes each
    noise = array("d", np.random.default_rng(0).standard_normal(n).tolist())
    assert len(_codec.encode(steps, noise, stamps)[2]) == 8 * n + 1  # incompressible: kept raw


def test_a_damaged_packed_column_is_a_storage_error() -> None:
    steps, vals = array("q", range(300)), array("d", [float(i) for i in range(300)])
    codec, s, v, t = _codec.encode(steps, vals, vals)
    with pytest.raises(StorageError, match="chunk in the store is damaged"):
        _codec.columns(Chunk(0, 299, 300, s, v, t[:20], codec))
    with pytest.raises(StorageError, match="unknown encoding"):
        _codec.columns(Chunk(0, 299, 300, s, b"\x09" + v[1:], t, codec))


def _exact_series(n: int, offset: int = 0) -> tuple[array[int], array[float], array[float]]:
    rng = np.random.default_rng(n + offset)
    specials = [*_SPECIAL, _NAN_PAYLOAD]
    values = rng.standard_normal(n)
    values[::97] = [specials[i % len(specials)] for i in range(len(values[::97]))]
    steps = np.cumsum(rng.integers(1, 3, n)) * (STEP_SCALE // 4) + offset  # fractional, irregular
    stamps = 1.7e9 + np.cumsum(rng.exponential(0.05, n))
    stamps[5] = -1e-310  # arbitrary floats, not only time.time()
    return array("q", steps.tolist()), array("d", values.tolist()), array("d", stamps.tolist())


@pytest.mark.backends()
def test_every_backend_reads_back_packed_chunks_bit_for_bit(store: Any) -> None:
    """Big and small appends (packed, raw, compacted) read back through the store seam bit for
    bit, and through ``fetch_values`` as the values and steps that were logged."""
    with naiad.Run(store=store, run_id="r", project="p") as run:
        run["setup"] = 1
    backend = open_store(store if isinstance(store, str) else Path(store), create=False)
    try:
        rec = backend.open_run(RunSpec("p", "r", None, None, None, time.time(), "me", "host"))
        parts = [_exact_series(5000)]
        last = parts[0][0][-1]
        for k in range(40):  # small batches: in-place extension, sealing, compaction
            s, v, t = _exact_series(37 + k, offset=int(last) + 1)
            parts.append((s, v, t))
            last = s[-1]
        for s, v, t in parts:
            backend.write_batch(rec.pk, [Floats("loss", s, v, t)])
        want = [
            np.concatenate([np.frombuffer(p[i], dt) for p in parts])
            for i, dt in enumerate(("<i8", "<f8", "<f8"))
        ]
        chunks = backend.chunks(rec.pk, "loss", None)
        assert any(c.codec == _codec.PACKED for c in chunks)
        got = [np.concatenate(c) for c in zip(*(_codec.columns(ch) for ch in chunks))]
        assert [g.tobytes() for g in got] == [w.tobytes() for w in want]
    finally:
        backend.close()
    with naiad.Run(store=store, run_id="r", project="p", mode="read-only") as again:
        df = again["loss"].fetch_values()
    assert df["value"].to_numpy().tobytes() == want[1].tobytes()
    assert df["step"].to_numpy().tobytes() == (want[0] / STEP_SCALE).tobytes()
    assert (df["timestamp"].array.asi8 == np.rint(want[2] * 1e9).astype(np.int64)).all()


def _schema_3_store(root: Path, n: int) -> tuple[array[int], array[float], array[float]]:
    """A store as naiad wrote it at schema 3: raw chunk columns and no codec column."""
    with naiad.Run(store=root, run_id="old", project="p") as run:
        run["loss"].append(0.5, step=0)
    sqlite_back_to(root / "naiad.db", 3)
    conn = sqlite3.connect(root / "naiad.db")
    field = conn.execute("SELECT id FROM fields WHERE path = 'loss'").fetchone()[0]
    conn.execute("DELETE FROM chunks")
    s, v, t = _exact_series(n)
    rows = []
    for a in range(0, n, 1000):  # 1000-point chunks, then a small trailing one left open
        b = min(n, a + 1000)
        rows.append((field, s[a], s[b - 1], b - a, s[a:b].tobytes(), v[a:b].tobytes(), t[a:b].tobytes()))
    conn.executemany(
        "INSERT INTO chunks(field_id, first_step, last_step, n, steps, vals, ts) VALUES(?,?,?,?,?,?,?)", rows
    )
    conn.execute("UPDATE fields SET step=?, n=?, value=NULL WHERE id=?", (s[-1], n, field))
    conn.commit()
    conn.close()
    return s, v, t


def test_chunks_written_at_schema_3_stay_readable_and_extendable(tmp_path: Path) -> None:
    root = tmp_path / "store"
    s, v, t = _schema_3_store(root, 2050)
    with naiad.Run(store=root, run_id="old", project="p") as run:
        df = run["loss"].fetch_values()
        assert df["value"].to_numpy().tobytes() == v.tobytes()
        assert df["step"].to_numpy().tobytes() == (np.frombuffer(s, np.int64) / STEP_SCALE).tobytes()
        assert (df["timestamp"].array.asi8 == np.rint(np.frombuffer(t, np.float64) * 1e9)).all()
        first = float(s[-1]) / STEP_SCALE
        for i in range(1, 400):  # extends the raw open chunk, seals and compacts next to old rows
            run["loss"].append(-0.0 if i % 2 else math.nan, step=first + i)
    conn = sqlite3.connect(root / "naiad.db")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    codecs = [r[0] for r in conn.execute("SELECT codec FROM chunks ORDER BY first_step")]
    conn.close()
    assert version >= 4 and codecs[0] == _codec.RAW
    with naiad.Run(store=root, run_id="old", project="p", mode="read-only") as again:
        values = again["loss"].fetch_values()["value"].to_numpy()
    tail = np.array([-0.0 if i % 2 else math.nan for i in range(1, 400)])
    assert values.tobytes() == np.concatenate([np.frombuffer(v, np.float64), tail]).tobytes()


def test_team_store_chunks_written_at_schema_3_stay_readable_and_extendable(postgres_uri: str) -> None:
    """A PostgreSQL store last written at schema 3 (raw chunk columns, no codec column) reads
    back after migration 4, and its series keeps growing: small raw chunks merged with the old
    ones, and a packed one."""
    psycopg = pytest.importorskip("psycopg")
    backend = open_store(postgres_uri)
    rec = backend.open_run(RunSpec("p", "old", None, None, None, time.time(), "me", "host"))
    s, v, t = _exact_series(3000)
    backend.write_batch(rec.pk, [Floats("loss", s[:10], v[:10], t[:10])])
    backend.close()
    postgres_back_to(postgres_uri, 3)
    base, schema = postgres_uri.split("?schema=")
    with psycopg.connect(base, autocommit=True) as c:
        c.execute(f'SET search_path TO "{schema}"')
        field = c.execute("SELECT id FROM fields WHERE path = 'loss'").fetchone()[0]
        for a in range(10, 1000, 99):  # small raw chunks, as schema 3 wrote them, left to merge
            b = min(1000, a + 99)
            c.execute(
                "INSERT INTO chunks(field_id, first_step, last_step, n, steps, vals, ts) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [field, s[a], s[b - 1], b - a, s[a:b].tobytes(), v[a:b].tobytes(), t[a:b].tobytes()],
            )
        c.execute(
            "UPDATE fields SET step = %s, n = 1000, small = 11, small_from = %s WHERE id = %s",
            [s[999], s[0], field],
        )
    again = open_store(postgres_uri)
    try:
        assert again.stats().schema_version >= 4
        for a in range(1000, 1800, 50):  # small: merged (by concatenation) with the old rows
            again.write_batch(rec.pk, [Floats("loss", s[a : a + 50], v[a : a + 50], t[a : a + 50])])
        again.write_batch(rec.pk, [Floats("loss", s[1800:], v[1800:], t[1800:])])  # packed
        chunks = again.chunks(rec.pk, "loss", None)
        assert {c.codec for c in chunks} == {_codec.RAW, _codec.PACKED}
        got = [np.concatenate(c) for c in zip(*(_codec.columns(ch) for ch in chunks))]
        assert [g.tobytes() for g in got] == [s.tobytes(), v.tobytes(), t.tobytes()]
        assert len(chunks) < 20  # of 28 small ones, the old among them were merged
        step, value = again.last_point_before(rec.pk, "loss", s[2500]) or (None, None)
        assert step == s[2500] and struct.pack("<d", value) == struct.pack("<d", v[2500])
    finally:
        again.close()
