"""An independent re-statement of the numerics documents' raw arithmetic, for tests only.

Written from docs/spinnaker-numerics-models.md and the shared spinnaker-numerics.md (§1),
not from repro.spinnaker: the tests compare the emulator's recorded raw values with
traces computed here.
"""

from __future__ import annotations

from decimal import Decimal, localcontext


def s1615(x: float) -> int:
    """Host encoding: round(Decimal(str(x)) * 2**15), half-even."""
    return int(round(Decimal(str(float(x))) * 32768))


def wrap(x: int) -> int:
    """Low 32 bits as signed."""
    return ((int(x) + 2 ** 31) % 2 ** 32) - 2 ** 31


def mulk(a: int, b: int) -> int:
    """accum * accum: floor(a b / 2**15), wrapped."""
    return wrap((int(a) * int(b)) >> 15)


def kdivk(a: int, b: int) -> int:
    """floor((a << 15) / b), low 32 bits signed."""
    return wrap((int(a) << 15) // int(b))


def decay_s1615(x: int, d: int) -> int:
    """S16.15 times U0.32, floor."""
    return (int(x) * int(d)) >> 32


def _tables() -> tuple[list[int], list[int]]:
    with localcontext() as ctx:
        ctx.prec = 50
        hi = [int((Decimal(k - 13).exp() * 2 ** 32).to_integral_value()) for k in range(26)]
        mid = [int(((1 - (Decimal(-j) / 16).exp()) * 2 ** 32).to_integral_value())
               for j in range(16)]
    return hi, mid


HI, MID = _tables()


def _scale64(x: int, y: int) -> int:
    lo = (x & 0xFFFFFFFF) * y
    return (lo >> 32) + (1 if (lo & 0xFFFFFFFF) >= 0x7FFFFFFF else 0) + (x >> 32) * y


def expi64(n: int) -> int:
    """spinn_common's exp of an S16.15 raw input as U32.32 (spec §1)."""
    z, f = n >> 15, n - ((n >> 15) << 15)
    if f == 0:
        return HI[13 + z]
    z, f = z + 1, 32768 - f
    e = HI[13 + z]
    e -= _scale64(e, MID[f >> 11])
    y = (f & 0x7FF) << 17
    c0, c1, c2 = 5294, 4293434720, 2081624032
    series = ((((c1 - ((c2 * y) >> 32)) & 0xFFFFFFFF) * y) >> 32) + c0
    return e - _scale64(e, series & 0xFFFFFFFF)


def expk(n: int) -> int:
    """S16.15 result, truncated."""
    return expi64(n) >> 17


def expulr(n: int) -> int:
    """U0.32 result."""
    return expi64(n) & 0xFFFFFFFF


def left_shift(summed: float) -> int:
    """Ring-buffer shift from a max summed weight (spec §5)."""
    import math

    p = 0 if summed <= 0 else math.ceil(max(0.0, math.log2(summed)))
    return p + 1 if 2 ** p <= summed else p
