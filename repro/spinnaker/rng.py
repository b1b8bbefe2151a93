"""On-chip random number generators of SpiNNaker binaries (spinn_common ``random.c``).

``mars_kiss64_seed`` is Marsaglia's JKISS generator with a caller-held 128-bit state
``(x, y, z, c)`` (spinn_common ``random.c``)::

    x = 314527869 * x + 1234567            (mod 2**32)
    y ^= y << 5; y ^= y >> 7; y ^= y << 22 (32-bit)
    t = 4294584393 * z + c                 (64-bit)
    c = t >> 32; z = t mod 2**32
    return (x + y + z) mod 2**32

Plain Python integers: each draw is a data-dependent step of one state, so there is
nothing to vectorise, and the callers draw at most a few numbers per spike.
"""

from __future__ import annotations

MASK32 = 0xFFFFFFFF
#: ``mars_kiss64_seed`` multipliers and increment.
KISS_X_MUL = 314527869
KISS_X_ADD = 1234567
KISS_Z_MUL = 4294584393


class MarsKiss64:
    """The state of one ``mars_kiss64_seed_t`` and its generator.

    Parameters
    ----------
    seed : sequence of int
        The four 32-bit words ``(x, y, z, c)``, used as given (call
        :func:`validate_seed` first where the C code calls ``validate_mars_kiss64_seed``).
    """

    __slots__ = ("x", "y", "z", "c")

    def __init__(self, seed: tuple[int, int, int, int] | list[int]) -> None:
        if len(seed) != 4:
            raise ValueError(f"a mars_kiss64 seed has 4 words, not {len(seed)}")
        self.x, self.y, self.z, self.c = (int(word) & MASK32 for word in seed)

    @property
    def state(self) -> tuple[int, int, int, int]:
        """The four state words ``(x, y, z, c)``."""
        return self.x, self.y, self.z, self.c

    def next(self) -> int:
        """``mars_kiss64_seed(seed)``: advance the state and return a uint32."""
        self.x = (KISS_X_MUL * self.x + KISS_X_ADD) & MASK32
        y = self.y
        y ^= (y << 5) & MASK32
        y ^= y >> 7
        y ^= (y << 22) & MASK32
        self.y = y
        t = KISS_Z_MUL * self.z + self.c
        self.c = t >> 32
        self.z = t & MASK32
        return (self.x + self.y + self.z) & MASK32


def validate_seed(seed: tuple[int, int, int, int] | list[int]) -> tuple[int, int, int, int]:
    """``validate_mars_kiss64_seed``: y must not be 0; c becomes ``c % 698769068 + 1``."""
    x, y, z, c = (int(word) & MASK32 for word in seed)
    return x, (y if y != 0 else 13031301), z, c % 698769068 + 1
