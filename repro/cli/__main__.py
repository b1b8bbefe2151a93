"""``python -m repro.cli`` is the ``repro`` command."""

from repro.cli import main

main()
