"""A keyed permutation of ``[0, n)``, evaluated on arrays: uniqueness without memory.

A unique field takes value number ``permute(row)`` instead of a random draw: distinct rows
give distinct numbers, however many rows there are and whichever worker makes them, and
nothing is remembered. The numbers still look random, because the permutation is a
Feistel network keyed by the seed and the field; values past ``n`` are walked along the
cycle until they land inside (expected fewer than four steps, as the network's domain is
the smallest power of four ≥ n).
"""

from __future__ import annotations

import numpy as np

_ROUNDS = 6
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser: a cheap, well-spread 64-bit hash of every element."""
    x = x ^ (x >> np.uint64(30))
    x = x * _MIX1
    x = x ^ (x >> np.uint64(27))
    x = x * _MIX2
    mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


class Permutation:
    """A bijection of ``[0, size)`` chosen by ``key``; ``size`` up to 2**64."""

    def __init__(self, size: int, key: int | list[int]) -> None:
        if not 1 <= size <= 2**64:
            raise ValueError(f"permutation size must be in 1..2**64, got {size}")
        self.size = size
        bits = max(2, (size - 1).bit_length())
        self._half_bits = np.uint64((bits + 1) // 2)
        self._mask = np.uint64((1 << int(self._half_bits)) - 1)
        seeds = np.random.SeedSequence(key).generate_state(_ROUNDS, dtype=np.uint64)
        self._round_keys = [np.uint64(k) for k in seeds]

    def _feistel(self, x: np.ndarray) -> np.ndarray:
        left = x >> self._half_bits
        right = x & self._mask
        for round_key in self._round_keys:
            left, right = right, left ^ (_mix(right ^ round_key) & self._mask)
        return (left << self._half_bits) | right

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        """The images of ``indices`` (each in [0, size)) as uint64."""
        with np.errstate(over="ignore"):
            values = self._feistel(indices.astype(np.uint64))
            outside = values >= np.uint64(self.size) if self.size < 2**64 else None
            while outside is not None and outside.any():
                values[outside] = self._feistel(values[outside])
                outside = values >= np.uint64(self.size)
        return values
