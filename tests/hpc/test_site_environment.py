"""The environment at the execution site: modules/ESD release, container digest, scheduler
job, node names, MPI ranks and threads, as the harness records them."""

from __future__ import annotations

import json

import pytest

from repro.containers.registry import sha256_file
from repro.site.envinfo import (
    container_info,
    environment_digest,
    esd_release,
    loaded_modules,
    parallel_info,
    scheduler_info,
)
from repro.targets.base import JobState
from repro.targets.slurm import SlurmTarget
from tests.targets.jobs import bundles_for, sleepy_experiment, wait_terminal


def test_pmix_launch_gives_rank_rank_count_and_pmix_version():
    env = {"PMIX_RANK": "3", "SLURM_STEP_NUM_TASKS": "8", "SLURM_NTASKS": "16",
           "SLURM_PROCID": "3", "PMIX_VERSION": "4.2.2", "OMP_NUM_THREADS": "4"}
    assert parallel_info(env) == {"launcher": "pmix", "mpi_rank": 3, "mpi_ranks": 8,
                                  "pmix_version": "4.2.2", "omp_num_threads": 4}


def test_open_mpi_launch_is_recognised():
    env = {"OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"}
    assert parallel_info(env) == {"launcher": "openmpi", "mpi_rank": 1, "mpi_ranks": 2}


def test_plain_batch_step_counts_as_one_slurm_rank():
    assert parallel_info({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}) == {
        "launcher": "slurm", "mpi_rank": 0, "mpi_ranks": 1}


def test_plain_process_has_no_parallel_facts():
    assert parallel_info({"PATH": "/usr/bin", "OMP_NUM_THREADS": "many"}) is None


def test_loaded_modules_and_esd_release_come_from_the_module_system():
    env = {"LOADEDMODULES": "Stages/2025:GCC/13.3.0:ebrains/24.10:NEST/3.8"}
    assert loaded_modules(env) == ["Stages/2025", "GCC/13.3.0", "ebrains/24.10", "NEST/3.8"]
    assert esd_release(env) == "24.10"
    assert loaded_modules({}) == []


def test_scheduler_facts_name_job_node_and_cluster():
    env = {"SLURM_JOB_ID": "42", "SLURMD_NODENAME": "jsfc013", "SLURM_CLUSTER_NAME": "jusuf",
           "SLURM_JOB_NODELIST": "jsfc[013-014]", "SLURM_JOB_NUM_NODES": "2"}
    facts = scheduler_info(env)
    assert facts == {"kind": "slurm", "job_id": "42", "node_name": "jsfc013",
                     "cluster": "jusuf", "node_list": "jsfc[013-014]", "nnodes": "2"}


def test_container_digest_is_the_sif_files_sha256_when_the_runtime_names_the_image(sif_image):
    info = container_info({"APPTAINER_CONTAINER": str(sif_image)})
    assert info == {"image": str(sif_image), "digest": sha256_file(sif_image),
                    "runtime": "apptainer"}


def test_launcher_digest_takes_precedence_over_the_file_hash(sif_image):
    pinned = "sha256:" + "1" * 64
    info = container_info({"APPTAINER_CONTAINER": str(sif_image),
                           "REPRO_CONTAINER_DIGEST": pinned})
    assert info["digest"] == pinned


def test_different_container_digests_make_different_environments():
    base = {"packages": {"nest-simulator": "3.10.0"}, "esd_release": "24.10"}
    first = {**base, "container": {"digest": "sha256:" + "1" * 64}}
    second = {**base, "container": {"digest": "sha256:" + "2" * 64}}
    assert environment_digest(first) != environment_digest(second)
    assert environment_digest(first) == environment_digest(
        {**first, "parallel": {"mpi_ranks": 4}, "modules": ["x/1"]})


@pytest.mark.infra
def test_harness_under_srun_pmix_records_node_ranks_and_threads(slurm_cluster, tmp_path):
    target = SlurmTarget("pmix-slurm", {"workdir": str(tmp_path / "work"), "threads": 2,
                                        "srun": True, "mpi": "pmix",
                                        "slurm_conf": str(slurm_cluster.conf_path)})
    (bundle,) = bundles_for(sleepy_experiment(tmp_path / "exp"), target, [5],
                            tmp_path / "scratch")
    handle = target.submit(bundle)
    status = wait_terminal(target, handle)
    assert status.state is JobState.DONE, status.message
    target.fetch(handle, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "environment.json").read_text())
    assert manifest["scheduler"]["job_id"] == handle.job_id
    assert manifest["scheduler"]["node_name"] == "localhost"
    assert manifest["scheduler"]["cluster"] == "repro-test"
    assert manifest["scheduler"]["cpus_per_task"] == "2"
    assert manifest["parallel"]["launcher"] == "pmix"
    assert (manifest["parallel"]["mpi_rank"], manifest["parallel"]["mpi_ranks"]) == (0, 1)
    assert manifest["parallel"]["omp_num_threads"] == 2
    assert manifest["simulator"]["threads"] == 2
