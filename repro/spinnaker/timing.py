"""The simulation time step as sPyNNaker holds it: an integer number of microseconds."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Timing:
    """Time step and the derived rates sPyNNaker computes from it.

    Attributes
    ----------
    timestep_us : int
        ``ceil(dt_ms * 1000)``, as ``setup(timestep=...)`` stores it.
    """

    timestep_us: int

    @classmethod
    def from_ms(cls, timestep_ms: float) -> Timing:
        """Time step from ``setup(timestep=...)`` in ms (rounded up to whole us).

        Raises
        ------
        ValueError
            If the time step is not positive.
        """
        if not timestep_ms > 0:
            raise ValueError(f"timestep must be positive, got {timestep_ms!r}")
        return cls(int(math.ceil(timestep_ms * 1000.0)))

    @property
    def ms(self) -> float:
        """Time step in ms."""
        return self.timestep_us / 1000.0

    @property
    def steps_per_ms(self) -> float:
        """Time steps per ms."""
        return 1000.0 / self.timestep_us

    @property
    def steps_per_second(self) -> float:
        """Time steps per second of biological time."""
        return 1_000_000.0 / self.timestep_us

    @property
    def seconds(self) -> float:
        """Time step in s."""
        return self.timestep_us / 1_000_000.0
