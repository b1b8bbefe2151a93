"""repro: provenance-first reproducibility and comparison of spiking network simulations."""

__version__ = "0.1.0"
