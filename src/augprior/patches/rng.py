"""Counter-based random numbers: Philox4x32-10, vectorised in numpy.

Every random draw of a patch is a pure function of (seed, patch index, block): the
counter is (block, index_lo, index_hi, stream) and the key is (seed_lo, seed_hi).
So patch `i` gets the same parameters whether it is drawn alone, in a batch of 10,000,
or in another worker process, and no generator state is ever carried between patches.
Philox4x32-10 is the generator of Salmon et al., "Parallel random numbers: as easy as
1, 2, 3" (SC'11); `philox4x32` reproduces its published known-answer vectors (tested).
"""

from __future__ import annotations

import numpy as np

_M0 = np.uint64(0xD2511F53)
_M1 = np.uint64(0xCD9E8D57)
_W0 = np.uint64(0x9E3779B9)
_W1 = np.uint64(0xBB67AE85)
_MASK = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def philox4x32(counter: np.ndarray, key: np.ndarray, rounds: int = 10) -> np.ndarray:
    """Philox4x32 bijection. `counter`: (..., 4) uint32-valued, `key`: (..., 2); returns (..., 4) uint32."""
    c = np.asarray(counter, dtype=np.uint64) & _MASK
    k = np.asarray(key, dtype=np.uint64) & _MASK
    c0, c1, c2, c3 = (c[..., i] for i in range(4))
    k0, k1 = k[..., 0], k[..., 1]
    for _ in range(rounds):
        p0 = _M0 * c0  # < 2**64: both factors are below 2**32
        p1 = _M1 * c2
        hi0, lo0 = p0 >> _S32, p0 & _MASK
        hi1, lo1 = p1 >> _S32, p1 & _MASK
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + _W0) & _MASK
        k1 = (k1 + _W1) & _MASK
    return np.stack(np.broadcast_arrays(c0, c1, c2, c3), axis=-1).astype(np.uint32)


def check_seed(seed: int) -> int:
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), not {seed}")
    return seed


def uniforms(seed: int, index: np.ndarray, block: int, stream: int = 0) -> np.ndarray:
    """Four independent U[0, 1) draws (float64, 32-bit resolution) per index: shape (len(index), 4).

    Values are (x + 0.5) / 2**32, so they lie strictly inside (0, 1).
    """
    seed = check_seed(seed)
    index = np.asarray(index, dtype=np.uint64).reshape(-1)
    counter = np.empty((index.size, 4), dtype=np.uint64)
    counter[:, 0] = block
    counter[:, 1] = index & _MASK
    counter[:, 2] = index >> _S32
    counter[:, 3] = stream
    key = np.array([seed & 0xFFFFFFFF, seed >> 32], dtype=np.uint64)
    bits = philox4x32(counter, key)
    return (bits.astype(np.float64) + 0.5) / 2.0**32
