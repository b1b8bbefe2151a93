"""Raw-integer fixed-point arithmetic exactly as the sPyNNaker 7.4.1 ARM binaries do it.

Formats (``raw`` is the stored integer): S16.15 ``accum`` (value = raw / 2**15), U16.16
``unsigned accum`` (raw / 2**16), U0.32 ``unsigned long fract`` (raw / 2**32) and U32.32
``unsigned long accum`` (raw / 2**32 in 64 bits). Multiplies truncate (floor), additions
wrap in 32 bits, nothing saturates unless stated. The exponential follows spinn_common's
table-driven ``expi64``; its tables are computed here from their definitions (exactly
rounded e**k and 1 - e**(-j/16)), which equal the library's tables.

Scalar helpers take and return Python ints; the array helpers take int64 numpy arrays.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

import numpy as np

S1615_SHIFT = 15
S1615_ONE = 1 << S1615_SHIFT
U032_ONE = 1 << 32
#: ``1.0ulr`` as GCC encodes it (rounded down): 0xFFFFFFFF.
U032_MAX = 0xFFFFFFFF
INT32_MAX = (1 << 31) - 1

#: expk/expulr/expuk saturate above / flush to zero below these S16.15 inputs.
EXP_INPUT_MAX = 363408
EXP_INPUT_MIN = -340695
#: Coefficients of spinn_common's quadratic approximation of 1 - exp(-y) on [0, 1/16).
EXP_SERIES = (5294, 4293434720, 2081624032)


def _exact_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """HI[k] = round(e**(k-13) * 2**32), k = 0..25; MID[j] = round((1 - e**(-j/16)) * 2**32)."""
    with localcontext() as ctx:
        ctx.prec = 60
        scale = Decimal(U032_ONE)
        hi = tuple(int((Decimal(k - 13).exp() * scale).to_integral_value()) for k in range(26))
        mid = tuple(int(((1 - (Decimal(-j) / 16).exp()) * scale).to_integral_value())
                    for j in range(16))
    return hi, mid


EXP_HI, EXP_MID = _exact_tables()


# --- host-side encoding (Python -> chip) --------------------------------------------------

def encode_scalar(value: float, frac_bits: int) -> int:
    """Encode one value as sPyNNaker's ``DataType.encode_as_int`` does.

    ``round(Decimal(str(value)) * 2**frac_bits)``: round-half-even on the decimal
    representation.

    Parameters
    ----------
    value : float
        Value in model units.
    frac_bits : int
        Fractional bits of the format (15 for S16.15, 16 for U16.16, 32 for U0.32/U32.32).
    """
    return int(round(Decimal(str(float(value))) * (1 << frac_bits)))


def encode_values(values: float | np.ndarray, frac_bits: int) -> np.ndarray:
    """Encode every element with :func:`encode_scalar` (the rule sPyNNaker applies to each
    value of a per-neuron parameter); returns an int64 array of the same shape."""
    array = np.asarray(values, dtype=float)
    unique, inverse = np.unique(array, return_inverse=True)
    codes = np.array([encode_scalar(v, frac_bits) for v in unique], dtype=np.int64)
    return codes[inverse].reshape(array.shape)


def s1615(value: float) -> int:
    """Host encoding of a scalar as S16.15."""
    return encode_scalar(value, S1615_SHIFT)


# --- 32-bit wrapping ------------------------------------------------------------------------

def wrap32(a: int | np.ndarray) -> int | np.ndarray:
    """Reinterpret the low 32 bits as a signed int32 (two's-complement wrap)."""
    if isinstance(a, np.ndarray):
        return a.astype(np.int32).astype(np.int64)
    return ((int(a) + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


# --- primitive operations -----------------------------------------------------------------

def mulk(a: int | np.ndarray, b: int | np.ndarray) -> int | np.ndarray:
    """``accum * accum`` on ARM: floor(a*b / 2**15), low 32 bits kept (wraps)."""
    return wrap32((a * b) >> S1615_SHIFT)


def decay_s1615(x: int | np.ndarray, decay: int) -> int | np.ndarray:
    """``decay_s1615``: S16.15 times U0.32, floor((x * d) / 2**32)."""
    return (x * decay) >> 32


def decay_s1615_to_u032(x: int, decay: int) -> int:
    """``decay_s1615_to_u032``: S16.15 times U0.32 giving a U0.32.

    C: ``ulrbits((uint_ulr_t)((s * u) >> 15))``: the product is truncated to its low
    32 bits, so a result of 1.0 or more wraps (errata 8: slow synapses).
    """
    return ((int(x) * int(decay)) >> S1615_SHIFT) & U032_MAX


def kdivk(a: int | np.ndarray, b: int | np.ndarray) -> int | np.ndarray:
    """``kdivk``: ``kbits((uint32_t) udiv64((uint64_t) a << 15, (uint64_t) b))``.

    An unsigned 64-bit division whose quotient keeps only its low 32 bits, read as a
    signed S16.15: a quotient of 65536 or more wraps (errata 9). Defined here for
    a >= 0, b > 0, the only inputs sPyNNaker's models pass after their checks.
    """
    if np.any(np.asarray(a) < 0) or np.any(np.asarray(b) <= 0):
        raise ValueError(f"kdivk is defined for a >= 0, b > 0 only (got {a}, {b})")
    return wrap32((a << S1615_SHIFT) // b)


def kdivk_wraps(a: int | np.ndarray, b: int | np.ndarray) -> np.ndarray:
    """Whether :func:`kdivk` wraps for these inputs (true quotient >= 2**31 raw)."""
    a = np.asarray(a, dtype=np.int64)
    return ((a << S1615_SHIFT) // np.asarray(b, dtype=np.int64)) > INT32_MAX


def roundk(raw: int | np.ndarray, n: int) -> int | np.ndarray:
    """spinn_common ``roundk``: drop the lowest ``n`` bits, rounding half up."""
    return (raw + (1 << (n - 1))) >> n


def ceil_s1615(raw: int | np.ndarray) -> int | np.ndarray:
    """``lif_ceil_accum``: ``bits >> 15`` (arithmetic, on the signed 32-bit word) plus one
    if any fractional bit is set; a wrapped negative input gives a negative count."""
    return (raw >> S1615_SHIFT) + ((raw & (S1615_ONE - 1)) != 0)


# --- exponential (spinn_common stdfix-exp.c semantics) -------------------------------------

def _round64(x: int) -> int:
    """Treat a 64-bit value as 32.32 and round away the fraction (library rule: lo >= INT32_MAX)."""
    return (x >> 32) + (1 if (x & 0xFFFFFFFF) >= INT32_MAX else 0)


def scale64(x: int, y: int) -> int:
    """Multiply a U32.32 ``x`` by a U0.32 ``y`` the way spinn_common's ``scale64`` does."""
    return _round64((x & 0xFFFFFFFF) * y) + (x >> 32) * y


def _series(y: int) -> int:
    """Quadratic approximation S(y) of 1 - exp(-y), y a U0.32 in [0, 1/16)."""
    c0, c1, c2 = EXP_SERIES
    inner = (c1 - ((c2 * y) >> 32)) & 0xFFFFFFFF
    return (((inner * y) >> 32) + c0) & 0xFFFFFFFF


def expi64(n: int) -> int:
    """exp of an S16.15 raw input as a U32.32 raw value (inside the non-saturating range)."""
    z = n >> S1615_SHIFT
    f = n - (z << S1615_SHIFT)
    if f == 0:
        return EXP_HI[13 + z]
    z += 1
    f = S1615_ONE - f
    e = EXP_HI[13 + z]
    e -= scale64(e, EXP_MID[f >> 11])
    e -= scale64(e, _series((f & 0x7FF) << 17))
    return e


def expk(n: int) -> int:
    """``expk``: exp of an S16.15 raw value, S16.15 result, truncated."""
    if n > EXP_INPUT_MAX:
        return INT32_MAX
    if n < EXP_INPUT_MIN:
        return 0
    return expi64(n) >> 17


def expulr(n: int) -> int:
    """``expulr``: exp of an S16.15 raw value (≤ 0 in practice) as a U0.32 raw value."""
    if n > EXP_INPUT_MAX:
        return INT32_MAX
    if n < EXP_INPUT_MIN:
        return 0
    return expi64(n) & 0xFFFFFFFF


def expuk(n: int) -> int:
    """``expuk``: exp of an S16.15 raw value as a U16.16 raw value (``expuk(0)`` is 0)."""
    if n > EXP_INPUT_MAX:
        return 0xFFFFFFFF
    if n < EXP_INPUT_MIN or n == 0:
        return 0
    return expi64(n) >> 16


def per_unique(function, raw: np.ndarray) -> np.ndarray:
    """Apply a scalar raw-integer ``function`` to every element of ``raw`` (once per value)."""
    unique, inverse = np.unique(np.asarray(raw, dtype=np.int64), return_inverse=True)
    results = np.array([function(int(v)) for v in unique], dtype=np.int64)
    return results[inverse].reshape(np.shape(raw))


def sqrtk(raw: int) -> int:
    """Square root of a non-negative S16.15 raw value, S16.15 result, floored.

    spinn_common's ``sqrtk`` is an iterative approximation; this exact floor can differ
    from it by the last bit.
    """
    return math.isqrt(int(raw) << S1615_SHIFT)
