"""Site-side code: what runs where the simulation runs and ships whole in every run bundle.

Only the standard library, numpy and pyNN (and :mod:`repro.spinnaker`) may be imported here:
execution sites have nothing else. ``tests/architecture`` enforces the rule.
"""

from pathlib import Path


def package_root() -> Path:
    """Directory of the ``repro`` package these site-side modules belong to.

    Its parent is what ``PYTHONPATH`` must name for ``python -m repro.site.harness``.
    """
    return Path(__file__).resolve().parent.parent
