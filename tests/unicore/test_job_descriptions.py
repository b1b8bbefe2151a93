"""What the unicore target asks a site to run, per mode (no server needed)."""

from __future__ import annotations

import shlex

import pytest

from repro.containers.apptainer import parse_image_reference
from repro.errors import InputError
from repro.targets.unicore import UnicoreTarget
from repro.targets.unicore_jobs import (
    BATCH_SCRIPT,
    EXIT_MARKER,
    START_MARKER,
    JobSettings,
    batch_job,
    container_job,
    native_job,
    slurm_job_id,
)

DIGEST = "sha256:" + "ab" * 32
IMAGE = f"oras://registry.example.org:5000/ebrains/repro-nest@{DIGEST}"
URL = "https://unicore.example.org:8080/JUSUF/rest/core"


def target(**options):
    return UnicoreTarget("site", {"url": URL, **options})


def test_native_job_loads_the_module_in_the_batch_script_before_the_harness():
    desc = native_job(JobSettings(mode="native", module="ebrains/24.10", threads=2,
                                  partition="batch", project="icei-hbp"), "run").description
    assert desc["Job type"] == "BATCH"
    assert desc["User precommand"] == "module load ebrains/24.10"
    assert desc["RunUserPrecommandOnLoginNode"] == "false"
    line = " ".join([desc["Executable"], *desc["Arguments"]])
    assert line.endswith("python3 -m repro.site.harness run_spec.json output")
    assert "PYTHONPATH=site${PYTHONPATH:+:$PYTHONPATH}" in line
    assert desc["Resources"] == {"Nodes": 1, "CPUsPerNode": 2, "Runtime": "30min",
                                 "Queue": "batch"}
    assert desc["Project"] == "icei-hbp" and desc["haveClientStageIn"] == "true"


def test_batch_job_submits_a_script_that_leaves_markers():
    job = batch_job(JobSettings(mode="batch", module="ebrains/25.02", threads=4,
                                time_minutes=20, partition="dc-cpu"), "run-1")
    assert job.description["Job type"] == "ON_LOGIN_NODE"
    assert [job.description["Executable"], *job.description["Arguments"]] == [
        "sbatch", BATCH_SCRIPT]
    script = job.generated[BATCH_SCRIPT]
    for line in ("#SBATCH --cpus-per-task=4", "#SBATCH --time=20",
                 "#SBATCH --partition=dc-cpu", "#SBATCH --output=slurm-%j.out",
                 "module load ebrains/25.02 || finish 3"):
        assert line in script.splitlines()
    lines = script.splitlines()
    started = next(i for i, line in enumerate(lines) if line.endswith(f"> {START_MARKER}"))
    harness = lines.index("python3 -m repro.site.harness run_spec.json output")
    assert started < harness and lines[harness + 1] == 'finish "$?"'
    assert f"mv {EXIT_MARKER}.part {EXIT_MARKER}" in script


def test_container_job_pulls_by_digest_on_the_login_node_and_runs_under_srun():
    image = parse_image_reference(IMAGE)
    desc = container_job(JobSettings(mode="container", image=image, threads=2, tasks=1),
                         "run").description
    assert desc["User precommand"] == (
        f"apptainer pull --force image.sif {IMAGE} && sha256sum image.sif > image.sif.sha256")
    assert desc["RunUserPrecommandOnLoginNode"] == "true"
    argv = shlex.split(" ".join([desc["Executable"], *desc["Arguments"]]))
    assert argv[:4] == ["srun", "--mpi=pspmix", "--ntasks=1", "--cpus-per-task=2"]
    sif = argv.index("image.sif")
    assert argv[4:6] == ["apptainer", "exec"] and "--sharens" in argv[6:sif]
    assert argv[sif + 1:] == ["python3", "-m", "repro.site.harness", "run_spec.json", "output"]
    assert f"REPRO_CONTAINER_DIGEST={DIGEST}" in argv and "PYTHONPATH=site" in argv


def test_a_tag_only_image_is_refused_unless_allowed():
    with pytest.raises(InputError, match="referenced by tag only") as caught:
        target(mode="container", image="oras://registry.example.org/ebrains/nest:latest")
    assert caught.value.field == "targets.site.image"
    allowed = target(mode="container", allow_tag=True,
                     image="oras://registry.example.org/ebrains/nest:latest")
    desc = container_job(allowed.settings([]), "run").description
    assert "oras://registry.example.org/ebrains/nest:latest" in desc["User precommand"]
    assert "REPRO_CONTAINER_DIGEST" not in " ".join(desc["Arguments"])


@pytest.mark.parametrize(("options", "field", "text"), [
    ({"mode": "native"}, "module", "ESD module"),
    ({"mode": "cloud"}, "mode", "unknown mode 'cloud'"),
    ({"mode": "container"}, "image", "needs image"),
    ({"mode": "batch", "url": "https://host/no-core"}, "url", "not a UNICORE site URL"),
    ({"mode": "batch", "registry": "https://host/REGISTRY/rest/registries/default_registry"},
     "url", "either url"),
    ({"mode": "batch", "url": "", "registry": "https://r/x"}, "site", "needs site"),
    ({"mode": "batch", "ntasks": 0}, "ntasks", "at least 1"),
    ({"mode": "batch", "ca_bundle": "/no/such/ca.pem"}, "ca_bundle", "does not exist"),
])
def test_bad_options_name_the_field(options, field, text):
    with pytest.raises(InputError, match=text) as caught:
        target(**options)
    assert caught.value.field == f"targets.site.{field}"


def test_site_name_comes_from_the_url_and_secrets_stay_out_of_the_identity():
    unicore = target(mode="batch", token_variable="MY_TOKEN", poll_max=5.0)
    assert unicore.site == "JUSUF"
    identity = unicore.identity()
    assert identity["kind"] == "unicore" and identity["mode"] == "batch"
    assert "token_variable" not in identity and "poll_max" not in identity


def test_slurm_job_id_is_read_from_sbatch_output():
    assert slurm_job_id("Submitted batch job 4711\n") == "4711"
    assert slurm_job_id("sbatch: error: invalid partition") is None
