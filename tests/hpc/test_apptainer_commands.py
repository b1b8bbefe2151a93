"""Apptainer command lines: images pinned by digest, harness exec under srun with PMIx."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repro.containers.apptainer import (
    DIGEST_VARIABLE,
    IMAGE_VARIABLE,
    exec_argv,
    harness_exec_argv,
    parse_image_reference,
    pull_argv,
    require_pinned,
    shell_line,
)
from repro.errors import InputError

DIGEST = "sha256:" + "ab" * 32
PINNED = f"oras://127.0.0.1:5000/repro/nest@{DIGEST}"
TAGGED = "oras://127.0.0.1:5000/repro/nest:3.10"


def test_pinned_reference_is_parsed_into_registry_repository_and_digest():
    ref = parse_image_reference(PINNED)
    assert (ref.scheme, ref.registry, ref.repository, ref.tag, ref.digest) == (
        "oras", "127.0.0.1:5000", "repro/nest", None, DIGEST)
    assert ref.pinned


def test_tag_and_digest_together_keep_the_digest():
    ref = parse_image_reference(f"oras://reg.example:443/a/b:1.0@{DIGEST}")
    assert (ref.name, ref.tag, ref.digest) == ("reg.example:443/a/b", "1.0", DIGEST)
    assert str(ref) == f"oras://reg.example:443/a/b@{DIGEST}"


def test_registry_port_is_not_mistaken_for_a_tag():
    ref = parse_image_reference("oras://127.0.0.1:5000/repro/nest")
    assert (ref.name, ref.tag, ref.digest) == ("127.0.0.1:5000/repro/nest", None, None)


@pytest.mark.parametrize("bad", [
    "127.0.0.1:5000/repro/nest",                     # no scheme
    "http://127.0.0.1:5000/repro/nest",              # not a pull scheme
    "oras://127.0.0.1:5000",                         # no repository
    "oras://reg/name@sha256:1234",                   # short digest
    f"oras://reg/name@{DIGEST.upper()}",             # upper-case hex
    "oras://reg/name@md5:" + "a" * 32,               # not sha256
    "oras://reg/na me:1",                            # space
])
def test_malformed_references_are_refused_naming_the_field(bad):
    with pytest.raises(InputError) as excinfo:
        parse_image_reference(bad, field="targets.hpc.image")
    assert "targets.hpc.image" in str(excinfo.value)


def test_tag_only_reference_is_refused_by_default():
    with pytest.raises(InputError, match="by tag only"):
        require_pinned(TAGGED)
    with pytest.raises(InputError, match="by tag only"):
        pull_argv(TAGGED, "image.sif")


def test_tag_only_reference_is_accepted_when_explicitly_allowed():
    assert pull_argv(TAGGED, "image.sif", allow_tag=True)[-1] == TAGGED


def test_pull_by_digest():
    assert pull_argv(PINNED, "work/image.sif") == [
        "apptainer", "pull", "--force", "work/image.sif", PINNED]


def test_harness_exec_under_srun_with_pspmix_and_sharens():
    argv = harness_exec_argv(
        "image.sif", PINNED, "/scratch/run1",
        harness_argv=["python3", "-m", "repro.site.harness", "run_spec.json", "output"],
        harness_env={"PYTHONPATH": "site"})
    assert argv[:4] == ["srun", "--mpi=pspmix", "apptainer", "exec"]
    assert "--sharens" in argv
    assert argv[argv.index("--bind") + 1] == "/scratch/run1"
    assert argv[argv.index("--pwd") + 1] == "/scratch/run1"
    envs = [argv[i + 1] for i, a in enumerate(argv) if a == "--env"]
    assert f"{DIGEST_VARIABLE}={DIGEST}" in envs
    assert f"{IMAGE_VARIABLE}={PINNED}" in envs
    assert "PYTHONPATH=site" in envs
    image_at = argv.index("image.sif")
    assert argv[image_at + 1:] == ["python3", "-m", "repro.site.harness", "run_spec.json", "output"]


def test_harness_exec_refuses_tag_only_image():
    with pytest.raises(InputError, match="by tag only"):
        harness_exec_argv("image.sif", TAGGED, "/w", harness_argv=["python3"],
                          harness_env={})


def test_harness_exec_with_allowed_tag_sets_no_digest():
    argv = harness_exec_argv("image.sif", TAGGED, "/w", harness_argv=["python3"],
                             harness_env={}, allow_tag=True)
    assert not any(a.startswith(DIGEST_VARIABLE) for a in argv)


def test_exec_without_srun_or_mpi():
    argv = exec_argv("i.sif", ["true"], srun=False, sharens=False)
    assert argv == ["apptainer", "exec", "i.sif", "true"]
    argv = exec_argv("i.sif", ["true"], mpi="", srun_options=["--ntasks=2"])
    assert argv[:3] == ["srun", "--ntasks=2", "apptainer"]


def test_shell_line_quotes_hostile_paths():
    argv = exec_argv("my image.sif", ["echo", "$(rm -rf /)"], srun=False)
    assert shlex.split(shell_line(argv)) == argv


_host = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z0-9]{1,5}){0,2}(:[1-9][0-9]{1,4})?",
                      fullmatch=True)
_path = st.lists(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,10}", fullmatch=True).filter(
    lambda s: not s.endswith((".", "-", "_"))), min_size=1, max_size=3).map("/".join)
_tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,15}", fullmatch=True)
_digest = st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex())


@given(host=_host, path=_path, tag=st.none() | _tag, digest=st.none() | _digest)
def test_reference_text_round_trips(host, path, tag, digest):
    text = f"oras://{host}/{path}" + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
    ref = parse_image_reference(text)
    assert (ref.name, ref.digest) == (f"{host}/{path}", digest)
    assert ref.tag == tag
    expected = text if not (tag and digest) else f"oras://{host}/{path}@{digest}"
    assert str(ref) == expected
    assert parse_image_reference(str(ref)).digest == digest
