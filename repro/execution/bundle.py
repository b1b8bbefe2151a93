"""Assemble run bundles: the self-contained directories targets ship to execution sites."""

from __future__ import annotations

import shutil
from pathlib import Path

from repro.site import package_root
from repro.site.runspec import RunSpec
from repro.targets.base import RunBundle

#: Site-side packages of repro, shipped whole (standard library + numpy + pyNN only; the
#: layer rule in tests/architecture keeps them so).
SITE_PACKAGES = ("site", "spinnaker")
#: The ``repro/__init__.py`` of a bundle: the package facade itself is not site-side.
SITE_PACKAGE_INIT = '"""repro\'s site-side packages, as shipped in a run bundle."""\n'
#: Files of the experiment directory shipped with the network script.
NETWORK_SUFFIXES = (".py", ".nestml", ".json", ".toml", ".csv", ".txt")



def build_bundle(directory: Path, spec: RunSpec, script_dir: Path, run_id: str,
                 extra_files: dict[str, Path] | None = None) -> RunBundle:
    """Create a bundle in ``directory`` (which must not exist yet).

    Parameters
    ----------
    directory : Path
        Where to create the bundle.
    spec : RunSpec
        The spec; its ``script`` is rewritten to the bundle-relative path.
    script_dir : Path
        Directory holding the network script and its sibling files.
    run_id : str
        Identifier of this run (used for names and logs).
    extra_files : dict, optional
        ``{bundle-relative path: source file}`` copied in as well (built NESTML modules).
    """
    directory.mkdir(parents=True)
    network = directory / "network"
    network.mkdir()
    script_name = Path(spec.script).name
    for path in sorted(script_dir.iterdir()):
        if path.is_file() and (path.suffix in NETWORK_SUFFIXES or path.name == script_name):
            shutil.copy2(path, network / path.name)
    site = directory / RunBundle.SITE_DIR / "repro"
    site.mkdir(parents=True)
    root = package_root()
    (site / "__init__.py").write_text(SITE_PACKAGE_INIT)
    for package in SITE_PACKAGES:
        shutil.copytree(root / package, site / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for relative, source in (extra_files or {}).items():
        dest = directory / relative
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest)
    spec.script = f"network/{script_name}"
    spec.write(directory / RunBundle.SPEC_FILE)
    return RunBundle(directory=directory, spec=spec, run_id=run_id)
