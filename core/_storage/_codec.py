"""The float-series chunk codec: how a chunk's three columns are stored, in one place.

A chunk row says which layout its columns have (``codec``): :data:`RAW` is raw little-endian
int64/float64 items (every chunk of schema 3 and earlier, and small chunks still, which are
rewritten on every batch while they are open), :data:`PACKED` is one self-describing blob per
column, whose first byte says how the rest is encoded:

- ``_RAW``: the items, little-endian (a column that does not compress);
- ``_STRIDE``: int64 steps in an arithmetic progression, as ``(start, stride)``;
- ``_DELTA``: the first item's bit pattern, then the differences between consecutive bit
  patterns (wrapping int64 arithmetic, so any float, NaN payloads and -0.0 included, comes
  back bit-identical), narrowed to the fewest bytes that hold them all, and split into byte
  planes (all first bytes, then all second bytes...), each stored as one repeated byte, as
  is (when it looks random) or zlib'd. Timestamps and irregular steps differ by small
  amounts, so their high planes are constant and their middle ones compress.

Values are kept raw unless the delta form is clearly smaller (a noisy metric barely
compresses, and decoding it would cost read time for nothing). Decoding writes straight into
the caller's arrays, so a long read needs no per-chunk temporaries beyond the inflated bytes.
numpy is imported on first use only: a process that never packs nor reads a chunk never
imports it.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import StorageError
from ._records import Chunk, pack, unpack

if TYPE_CHECKING:
    import numpy as np

RAW = 0  # a chunk row whose columns are raw little-endian items
PACKED = 1  # a chunk row whose columns are tagged blobs (below)
RAW_BELOW = 256  # chunks with fewer points stay raw: packing them saves little and costs a rewrite
# The most points one chunk row holds: a bigger append is split (see spans). A range read then
# decodes at most this many points past its ends, and a row's columns stay far below
# PostgreSQL's 1 GB bytea limit even raw (24 MiB), while a 10M-point series is only ten rows.
CHUNK_MAX_POINTS = 1 << 20

_RAW, _STRIDE, _DELTA = 0, 1, 2  # a packed column's first byte
_HEAD = struct.Struct("<Bq")  # tag, and the first item (or start) for _STRIDE/_DELTA
_STRIDE_BODY = struct.Struct("<q")
_WIDTHS = ((1, "<i1"), (2, "<i2"), (4, "<i4"))
_LEVEL = 1  # zlib level: nearly all of the gain at a fraction of the encode cost
_PLANE = struct.Struct("<BI")  # a delta column's byte plane: how it is stored, its size
_CONST, _PLAIN, _ZLIB = 0, 1, 2  # a byte plane: one repeated byte, raw bytes, zlib'd
_RANDOM_BITS = 7.8  # a byte plane with more entropy per byte than this is stored raw
_SAMPLE = 4096  # bytes of a plane its entropy is judged from (a random one shows about 7.95)
_VALUES_PAY = 0.85  # values are packed only when the delta form is at most this share of raw
_STAMPS_PAY = 0.9  # timestamps likewise (they nearly always shrink to a fraction)


def encode(
    steps: array[int], values: array[float], stamps: array[float], raw_below: int = RAW_BELOW
) -> tuple[int, bytes, bytes, bytes]:
    """``(codec, steps, values, stamps)`` of a chunk row holding these points."""
    n = len(steps)
    if n < raw_below:
        return RAW, pack(steps), pack(values), pack(stamps)
    import numpy as np

    s = _bits(np, steps)
    return (
        PACKED,
        _encode_steps(np, s),
        _encode_column(np, _bits(np, values), _VALUES_PAY),
        _encode_column(np, _bits(np, stamps), _STAMPS_PAY),
    )


def encode_arrays(
    steps: Any, values: Any, stamps: Any, raw_below: int = RAW_BELOW
) -> tuple[int, bytes, bytes, bytes]:
    """:func:`encode` of numpy columns (int64 steps, float64 values and stamps)."""
    import numpy as np

    if steps.size < raw_below:
        return (
            RAW,
            bytes(np.ascontiguousarray(steps, "<i8").tobytes()),
            bytes(np.ascontiguousarray(values, "<f8").tobytes()),
            bytes(np.ascontiguousarray(stamps, "<f8").tobytes()),
        )
    return (
        PACKED,
        _encode_steps(np, np.ascontiguousarray(steps, "<i8")),
        _encode_column(np, np.ascontiguousarray(values, "<f8").view("<i8"), _VALUES_PAY),
        _encode_column(np, np.ascontiguousarray(stamps, "<f8").view("<i8"), _STAMPS_PAY),
    )


def columns(chunk: Chunk) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The chunk's steps (int64), values and timestamps (float64) as new numpy arrays."""
    import numpy as np

    out = (
        np.empty(chunk.count, np.int64),
        np.empty(chunk.count, np.float64),
        np.empty(chunk.count, np.float64),
    )
    fill(chunk, *out)
    return out


def fill(chunk: Chunk, steps: Any, values: Any, stamps: Any) -> None:
    """Decode the chunk's columns into ``steps``, ``values``, ``stamps`` (contiguous numpy
    arrays of ``chunk.count`` items: int64, float64, float64)."""
    import numpy as np

    n = chunk.count
    for blob, out in ((chunk.steps, steps), (chunk.values, values), (chunk.stamps, stamps)):
        target = out.view(np.int64)
        if chunk.codec == RAW:
            target[:] = _raw(np, blob, n)
        else:
            _decode_column(np, blob, n, target)


def raw_columns(chunk: Chunk) -> tuple[bytes, bytes, bytes]:
    """The chunk's columns as raw little-endian bytes (as :func:`._records.pack` makes them)."""
    if chunk.codec == RAW:
        return chunk.steps, chunk.values, chunk.stamps
    s, v, t = columns(chunk)
    return (
        s.astype("<i8", copy=False).tobytes(),
        v.astype("<f8", copy=False).tobytes(),
        t.astype("<f8", copy=False).tobytes(),
    )


def arrays(chunk: Chunk) -> tuple[array[int], array[float], array[float]]:
    """The chunk's columns as ``array('q')`` steps and ``array('d')`` values and timestamps."""
    steps, values, stamps = raw_columns(chunk)
    return unpack("q", steps), unpack("d", values), unpack("d", stamps)


def merge(chunks: list[Chunk], raw_below: int = RAW_BELOW) -> tuple[int, bytes, bytes, bytes]:
    """One row's ``(codec, steps, values, stamps)`` holding the points of consecutive chunks."""
    if all(c.codec == RAW for c in chunks) and sum(c.count for c in chunks) < raw_below:
        one = _joined(chunks)
        return RAW, one.steps, one.values, one.stamps
    return encode_arrays(*concat(chunks), raw_below=raw_below)


def concat(
    chunks: Sequence[Chunk],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The points of consecutive chunks as new numpy columns (int64 steps, float64 values and
    timestamps), each packed chunk decoded straight into its slice, and each run of raw ones
    joined and copied in at once (a series logged a point per batch leaves many tiny ones)."""
    import numpy as np

    n = sum(c.count for c in chunks)
    cols = np.empty(n, np.int64), np.empty(n, np.float64), np.empty(n, np.float64)
    at, k = 0, 0
    while k < len(chunks):
        end = k + 1
        if chunks[k].codec == RAW:
            while end < len(chunks) and chunks[end].codec == RAW:
                end += 1
        one = chunks[k] if end == k + 1 else _joined(chunks[k:end])
        fill(one, *(col[at : at + one.count] for col in cols))
        at, k = at + one.count, end
    return cols


def _joined(raw: Sequence[Chunk]) -> Chunk:
    """Consecutive raw chunks as one: their columns' bytes joined."""
    return Chunk(
        raw[0].first_step,
        raw[-1].last_step,
        sum(c.count for c in raw),
        b"".join(c.steps for c in raw),
        b"".join(c.values for c in raw),
        b"".join(c.stamps for c in raw),
        RAW,
    )


def spans(n: int, most: int = CHUNK_MAX_POINTS) -> list[tuple[int, int]]:
    """``(start, stop)`` of the chunks that ``n`` appended points are split into: as few as
    hold at most ``most`` points each, of even sizes (so no piece is a tiny leftover that
    would count as a small chunk)."""
    pieces = max(1, -(-n // most))
    size = -(-n // pieces)
    return [(a, min(n, a + size)) for a in range(0, n, size)] if n else [(0, 0)]


# -- columns ----------------------------------------------------------------------------------
def _bits(np: Any, items: array[Any]) -> Any:
    """An array's items as little-endian int64 (the bit patterns of floats)."""
    native = np.frombuffer(items, np.int64 if items.typecode == "q" else np.float64)
    return native.astype(native.dtype.newbyteorder("<"), copy=False).view("<i8")


def _raw(np: Any, blob: bytes | memoryview, n: int) -> Any:
    if len(blob) != 8 * n:
        raise _damaged(f"a raw column of {len(blob)} bytes cannot hold {n} points")
    return np.frombuffer(blob, "<i8")


def _encode_steps(np: Any, s: Any) -> bytes:
    if s.size >= 2:
        diffs = np.diff(s)  # array arithmetic wraps silently, as the decoder's does
        stride = diffs[0]
        if (diffs == stride).all():
            return _HEAD.pack(_STRIDE, int(s[0])) + _STRIDE_BODY.pack(int(stride))
    return _encode_column(np, s, 1.0)


def _encode_column(np: Any, bits: Any, pays: float) -> bytes:
    """``bits`` (little-endian int64) as a tagged blob: delta-packed, or raw when that is not
    at most ``pays`` of the raw size."""
    raw_size = 1 + 8 * bits.size
    deltas = np.diff(bits)  # wraps on overflow, as the decoder's cumulative sum does
    width, dtype = 8, "<i8"
    if deltas.size:
        lo, hi = int(deltas.min()), int(deltas.max())
        for w, dt in _WIDTHS:
            limit = 1 << (8 * w - 1)
            if -limit <= lo and hi < limit:
                width, dtype = w, dt
                break
    planes = deltas.astype(dtype, copy=False).view(np.uint8).reshape(-1, width).T.copy()
    modes = _plane_modes(np, planes)
    if 1 + 8 * modes.count(_PLAIN) * planes.shape[1] / width > pays * raw_size:
        return bytes([_RAW]) + bytes(bits.tobytes())  # cannot pay, whatever zlib makes of the rest
    heads, bodies = [], []
    for p, judged in enumerate(modes):
        plane = planes[p]
        mode, body = judged, bytes(plane[:1].tobytes()) if judged == _CONST else bytes(plane.tobytes())
        if judged == _ZLIB:
            squeezed = zlib.compress(body, _LEVEL)
            mode, body = (_ZLIB, squeezed) if len(squeezed) < len(body) else (_PLAIN, body)
        heads.append(_PLANE.pack(mode, len(body)))
        bodies.append(body)
    packed = b"".join([_HEAD.pack(_DELTA, int(bits[0])), bytes([width]), *heads, *bodies])
    if len(packed) > pays * raw_size:
        return bytes([_RAW]) + bytes(bits.tobytes())
    return packed


def _plane_modes(np: Any, planes: Any) -> list[int]:
    """How to store each byte plane (a row of ``planes``): a constant as one byte, one that
    looks random as it is (zlib would spend time on both ends for nothing), any other zlib'd.
    Randomness is judged by the byte entropy of an evenly spread sample of the plane."""
    width, size = planes.shape
    if not size:
        return [_CONST] * width
    const = (planes == planes[:, :1]).all(axis=1)
    sample = planes[:, :: max(1, size // _SAMPLE)]
    counts = np.bincount(
        (sample + (np.arange(width, dtype=np.int64) * 256)[:, None]).ravel(), minlength=256 * width
    )
    freq = counts.reshape(width, 256) / sample.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(freq * np.log2(freq), axis=1)
    return [
        _CONST if c else _PLAIN if e > _RANDOM_BITS else _ZLIB
        for c, e in zip(const.tolist(), entropy.tolist())
    ]


def _decode_column(np: Any, blob: bytes, n: int, out: Any) -> None:
    """Decode a tagged column blob of ``n`` items into ``out`` (int64 view of the target)."""
    if not blob:
        raise _damaged("an empty column")
    tag = blob[0]
    if tag == _RAW:
        out[:] = _raw(np, memoryview(blob)[1:], n)
        return
    if tag not in (_STRIDE, _DELTA) or len(blob) < _HEAD.size + 1:
        raise _damaged(f"a column in an unknown encoding ({tag})")
    first = _HEAD.unpack_from(blob)[1]
    if tag == _STRIDE:
        (stride,) = _STRIDE_BODY.unpack_from(blob, _HEAD.size)
        np.multiply(np.arange(n, dtype=np.int64), np.int64(stride), out=out)
        out += np.int64(first)
        return
    width = blob[_HEAD.size]
    dtype = {w: dt for w, dt in _WIDTHS}.get(width, "<i8" if width == 8 else None)
    if dtype is None:
        raise _damaged(f"a delta-packed column of width {width}")
    deltas = np.empty(n - 1, dtype)
    planes = deltas.view(np.uint8).reshape(n - 1, width)
    at = _HEAD.size + 1 + width * _PLANE.size
    view = memoryview(blob)
    try:
        for p in range(width):
            mode, size = _PLANE.unpack_from(blob, _HEAD.size + 1 + p * _PLANE.size)
            body = view[at : at + size]
            at += size
            if mode == _CONST:
                planes[:, p] = body[0] if n > 1 else 0
            elif mode == _PLAIN:
                planes[:, p] = np.frombuffer(body, np.uint8)
            elif mode == _ZLIB:
                planes[:, p] = np.frombuffer(zlib.decompress(body), np.uint8)
            else:
                raise _damaged(f"a byte plane in an unknown encoding ({mode})")
    except (ValueError, IndexError, struct.error, zlib.error) as e:
        raise _damaged(f"a delta-packed column that does not hold {n} points ({e})") from e
    out[0] = first
    if n > 1:
        np.cumsum(deltas, dtype=np.int64, out=out[1:])
        out[1:] += np.int64(first)


def _damaged(what: str) -> StorageError:
    return StorageError(
        f"A float-series chunk in the store is damaged: {what}. Restore the store from a backup "
        "or a copy (naiad store copy) made before the damage."
    )
