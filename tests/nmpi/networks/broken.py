"""A network script that fails while building (for the NMPI script-error test)."""


def build(sim, params, seed):
    """Fail the way a buggy user script does."""
    raise RuntimeError("deliberate failure in the network script")
