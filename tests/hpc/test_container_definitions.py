"""containers/: the Apptainer definition and the Containerfile build the same pinned image."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from repro.execution.bundle import SITE_PACKAGES

REPO = Path(__file__).resolve().parents[2]
CONTAINERS = REPO / "containers"
DEFINITION = CONTAINERS / "repro-nest.def"
CONTAINERFILE = CONTAINERS / "Containerfile"
PIP_LOCK = CONTAINERS / "requirements.lock"
APT_LOCK = CONTAINERS / "debian-packages.lock"
APPTAINER_SECTIONS = {"arguments", "setup", "files", "post", "environment", "runscript",
                      "startscript", "test", "labels", "help", "app"}


def _pip_lock() -> dict[str, tuple[str, list[str]]]:
    text = PIP_LOCK.read_text().replace("\\\n", " ")
    entries = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        assert version, f"{requirement}: not pinned with =="
        hashes = [o.split("=", 1)[1] for o in options if o.startswith("--hash=")]
        entries[name.lower()] = (version, hashes)
    return entries


def _apt_lock() -> dict[str, str]:
    pins = {}
    for line in APT_LOCK.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("=")
            pins[name] = version
    return pins


def _project_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = {}
    for dependency in project["dependencies"]:
        name, sep, version = dependency.partition("==")
        if sep:
            pins[name.strip().lower()] = version.strip()
    return pins


def test_every_python_package_is_pinned_with_a_sha256_hash():
    entries = _pip_lock()
    assert entries
    for name, (version, hashes) in entries.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), (name, version)
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), name


@pytest.mark.parametrize("package", ["nest-simulator", "pynn"])
def test_image_pins_the_simulator_versions_repro_is_tested_with(package):
    assert _pip_lock()[package][0] == _project_pins()[package]


def test_every_debian_package_is_pinned_to_an_exact_version():
    pins = _apt_lock()
    assert pins and all(re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", n) for n in pins)
    assert all(re.fullmatch(r"[0-9A-Za-z.+~:-]+", v) for v in pins.values()), pins


def test_image_is_pmix_aware_and_has_the_python_of_the_wheels():
    pins = _apt_lock()
    assert {"libpmix2", "openmpi-bin", "libopenmpi3", "python3.11"} <= set(pins)
    assert pins["python3.11"].startswith("3.11.")


@pytest.mark.parametrize("build_file", [DEFINITION, CONTAINERFILE], ids=["apptainer", "oci"])
def test_both_build_files_install_only_from_the_locks(build_file):
    text = build_file.read_text()
    assert "containers/debian-packages.lock" in text and "containers/requirements.lock" in text
    assert "grep -Ev '^[[:space:]]*(#|$)' /opt/repro/debian-packages.lock" in text
    joined = text.replace("\\\n", " ")
    installs = re.findall(r"pip install[^\n&;]*", joined)
    assert installs
    for command in installs:
        for flag in ("--require-hashes", "--no-deps", "--only-binary=:all:",
                     "-r /opt/repro/requirements.lock"):
            assert flag in command, (command, flag)
    assert "apt-get install" in joined and "xargs apt-get install" in joined


def _site_files_in_definition() -> set[str]:
    files = re.search(r"^%files\n(.*?)(?=^%)", DEFINITION.read_text(), re.M | re.S).group(1)
    return {line.split()[0] for line in files.splitlines() if line.strip().startswith("repro/")}


def _site_files_in_containerfile() -> set[str]:
    copies = re.findall(r"^COPY ((?:.*\\\n)*.*)$", CONTAINERFILE.read_text(), re.M)
    found = set()
    for copy in copies:
        sources = copy.replace("\\\n", " ").split()[:-1]
        found |= {s for s in sources if s.startswith("repro/")}
    return found


def test_both_images_carry_exactly_the_site_side_modules_of_a_run_bundle():
    expected = {f"repro/{p}" for p in SITE_PACKAGES}
    assert _site_files_in_definition() == expected
    assert _site_files_in_containerfile() == expected
    for relative in expected:
        assert (REPO / relative).exists(), relative


def test_definition_is_structurally_valid_apptainer():
    lines = [line for line in DEFINITION.read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines[0] == "Bootstrap: debootstrap"
    sections = re.findall(r"^%(\w+)", DEFINITION.read_text(), re.M)
    assert set(sections) <= APPTAINER_SECTIONS and len(sections) == len(set(sections))
    declared = set(re.findall(r"^\s+(\w+)=", re.search(
        r"^%arguments\n(.*?)(?=^%)", DEFINITION.read_text(), re.M | re.S).group(1), re.M))
    used = set(re.findall(r"\{\{\s*(\w+)\s*\}\}", DEFINITION.read_text()))
    assert used and used <= declared


def test_both_images_set_the_same_environment():
    definition = re.search(r"^%environment\n(.*?)(?=^%)", DEFINITION.read_text(),
                           re.M | re.S).group(1)
    apptainer_env = set(re.findall(r"export (\w+)=", definition))
    oci_env = set(re.findall(r"^\s*(?:ENV )?(\w+)=\S", re.search(
        r"^ENV (.*?)\n\n", CONTAINERFILE.read_text(), re.M | re.S).group(0), re.M))
    assert apptainer_env - {"REPRO_CONTAINER_RUNTIME"} == oci_env - {"REPRO_CONTAINER_RUNTIME"}
