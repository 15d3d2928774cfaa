"""String series stored in packed chunks, as float series are: many points per row.

A chunk holds a run of consecutive points of one string series in four little-endian
columns: int64 fixed-point steps, float64 timestamps, uint32 lengths of the values (in code
points) and the UTF-8 of every value concatenated. Reading a million points is then a few
hundred rows, one ``decode`` per chunk and a slice per value, instead of a million rows.
Concatenating the columns of consecutive chunks gives the merged chunk, so a backend
compacts small chunks without decoding them.

A chunk is cut at ``CHUNK_POINTS`` points or ``CHUNK_CHARS`` code points of text, whichever
comes first, so that a tail read (the console's last 1,000 lines) decodes a chunk or two and
never the whole series. Every backend's write path splits batches with :func:`pack_rows`
and every read path decodes with :func:`values_of` / :func:`rows_of`.
"""

from __future__ import annotations

import dataclasses
from array import array
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

from ._records import pack, unpack

CHUNK_POINTS = 4096  # at most this many points per chunk
CHUNK_CHARS = 1 << 20  # and at most about this much text: long lines make shorter chunks
OPEN_CHARS = 1 << 16  # a trailing chunk with more text than this is no longer extended in place

_ROW = tuple[int, float, Any]


@dataclasses.dataclass(frozen=True)
class TextChunk:
    """A packed run of string-series points (see the module docstring for the columns)."""

    first_step: int
    last_step: int
    count: int
    steps: bytes
    stamps: bytes
    lengths: bytes
    text: bytes


def pack_rows(rows: Sequence[_ROW]) -> list[TextChunk]:
    """``(step, timestamp, str)`` rows, in step order, as chunks within the size caps."""
    out: list[TextChunk] = []
    start, chars = 0, 0
    for i, row in enumerate(rows):
        size = len(row[2])
        if i > start and (i - start >= CHUNK_POINTS or chars + size > CHUNK_CHARS):
            out.append(_pack(rows[start:i]))
            start, chars = i, 0
        chars += size
    if start < len(rows):
        out.append(_pack(rows[start:]))
    return out


def _pack(rows: Sequence[_ROW]) -> TextChunk:
    steps, stamps, values = zip(*rows)
    return TextChunk(
        rows[0][0],
        rows[-1][0],
        len(rows),
        pack(array("q", steps)),
        pack(array("d", stamps)),
        pack(array("I", map(len, values))),
        "".join(values).encode("utf-8"),
    )


def merge(chunks: Sequence[TextChunk]) -> TextChunk:
    """Consecutive chunks as one (their columns concatenated)."""
    return TextChunk(
        chunks[0].first_step,
        chunks[-1].last_step,
        sum(c.count for c in chunks),
        b"".join(c.steps for c in chunks),
        b"".join(c.stamps for c in chunks),
        b"".join(c.lengths for c in chunks),
        b"".join(c.text for c in chunks),
    )


def values_of(chunk: TextChunk) -> list[str]:
    """The chunk's values: one decode of its text, then a slice per value."""
    text = chunk.text.decode("utf-8")
    ends = list(accumulate(unpack("I", chunk.lengths)))
    return [text[a:b] for a, b in zip([0, *ends[:-1]], ends)]


def rows_of(chunk: TextChunk, min_step: int | None = None, max_step: int | None = None) -> list[_ROW]:
    """The chunk's ``(step, timestamp, value)`` rows within [min_step, max_step]."""
    rows = list(zip(unpack("q", chunk.steps), unpack("d", chunk.stamps), values_of(chunk)))
    if (min_step is not None and chunk.first_step < min_step) or (
        max_step is not None and chunk.last_step > max_step
    ):
        rows = [
            r
            for r in rows
            if (min_step is None or r[0] >= min_step) and (max_step is None or r[0] <= max_step)
        ]
    return rows


def in_range(chunk: TextChunk, min_step: int | None, max_step: int | None) -> int:
    """How many of the chunk's points lie in [min_step, max_step]."""
    if (min_step is None or chunk.first_step >= min_step) and (
        max_step is None or chunk.last_step <= max_step
    ):
        return chunk.count
    return sum(
        1
        for s in unpack("q", chunk.steps)
        if (min_step is None or s >= min_step) and (max_step is None or s <= max_step)
    )


def tail_chunks(
    page: Callable[[int | None, int], list[TextChunk]],
    min_step: int | None,
    max_step: int | None,
    tail: int,
) -> list[TextChunk]:
    """The fewest trailing chunks that hold the last ``tail`` points of a range, in step order.

    ``page(before, limit)`` returns up to ``limit`` chunks of the range whose first step is
    below ``before`` (None: any), newest first; pages grow, so a tail costs a few queries.
    """
    out: list[TextChunk] = []
    have, before, limit = 0, None, 2
    while have < tail:
        got = page(before, limit)
        for chunk in got:
            out.append(chunk)
            have += in_range(chunk, min_step, max_step)
            if have >= tail:
                break
        if len(got) < limit:
            break
        before, limit = got[-1].first_step, limit * 2
    out.reverse()
    return out


def rows_in(
    chunks: Sequence[TextChunk], min_step: int | None, max_step: int | None, tail: int | None
) -> list[_ROW]:
    """The rows of ``chunks`` in the range, only the last ``tail`` of them when given (what
    a backend's ``points`` returns for a string series)."""
    rows = [r for c in chunks for r in rows_of(c, min_step, max_step)]
    if tail is not None:
        return rows[-tail:] if tail else []
    return rows
