"""The deterministic data the reliability children log and the parent checks, bit for bit.

Shared by the child scripts (imported as ``_workload``) and the tests (``from . import``): a
value is a pure function of (seed, position), so the parent knows exactly what each
acknowledged position holds without the child sending it.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

KEYS = tuple(f"m/k{i}" for i in range(5))  # one log_metrics call = one batch of these keys
# float64 bit patterns that trip up naive storage: NaN payloads (signalling, quiet, negative),
# -0.0, infinities, subnormals, the largest finite double
SPECIAL_BITS = (
    0x7FF0000000000001,
    0x7FF8DEAD0000BEEF,
    0xFFF8000000000000,
    0x8000000000000000,
    0x7FF0000000000000,
    0xFFF0000000000000,
    0x0000000000000001,
    0x000FFFFFFFFFFFFF,
    0x7FEFFFFFFFFFFFFF,
    0x3FF0000000000000,
)


def bits_to_float(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits))[0])


def float_to_bits(value: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", value))[0])


def _bits(*parts: object) -> int:
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def metric_values(seed: int, step: int) -> dict[str, float]:
    """The five values logged at ``step``: four arbitrary bit patterns and one special."""
    values = {key: bits_to_float(_bits(seed, step, i)) for i, key in enumerate(KEYS[:-1])}
    values[KEYS[-1]] = bits_to_float(SPECIAL_BITS[step % len(SPECIAL_BITS)])
    return values


def config_values(seed: int, n: int) -> dict[str, Any]:
    """The n-th config written in one ``log_configs`` call: every field names the same ``n``."""
    return {
        "n": n,
        "x": bits_to_float(_bits(seed, "cfg", n)),
        "name": f"cfg-{seed}-{n}",
        "even": n % 2 == 0,
        "tags": [f"t{n}", f"s{seed}"],
    }


def file_bytes(seed: int, n: int) -> bytes:
    """The n-th file's content: 0 to 20,000 bytes derived from (seed, n)."""
    size = (n * 7919 + seed) % 20_000
    block = hashlib.sha256(f"{seed}:{n}".encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def same_bits(a: float, b: float) -> bool:
    return float_to_bits(a) == float_to_bits(b)
