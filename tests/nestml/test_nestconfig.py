"""The corrected nest-config: installed headers, local compiler, old-ABI flag."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from repro.nestml.nestconfig import OLD_ABI_FLAG, find_toolchain, write_nest_config


@pytest.fixture(scope="module")
def toolchain():
    pytest.importorskip("nest", reason="NEST is not installed")
    return find_toolchain()


def ask(config: Path, option: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", str(config), option], capture_output=True, text=True)


def test_toolchain_points_at_the_installed_headers(toolchain):
    assert (toolchain.include_dir / "config.h").is_file()
    assert toolchain.include_dir == toolchain.nest_package_dir / "include" / "nest"
    assert toolchain.compiler.is_file()
    assert toolchain.flags[-1] == OLD_ABI_FLAG
    assert toolchain.flags.count(OLD_ABI_FLAG) == 1


def test_written_nest_config_reports_installed_include_dir_and_local_compiler(toolchain,
                                                                                tmp_path):
    config = write_nest_config(tmp_path, toolchain)
    includes = ask(config, "--includes").stdout.split()
    assert includes == [f"-I{toolchain.include_dir}"]
    assert Path(includes[0][2:]).is_dir()
    assert ask(config, "--compiler").stdout.strip() == str(toolchain.compiler)
    assert OLD_ABI_FLAG in ask(config, "--cflags").stdout.split()
    assert ask(config, "--libs").stdout.strip() == ""
    assert ask(config, "--static-libraries").stdout.strip() == "OFF"
    assert ask(config, "--version").stdout.strip() == toolchain.nest_version


def test_unknown_option_fails(toolchain, tmp_path):
    config = write_nest_config(tmp_path, toolchain)
    done = ask(config, "--no-such-option")
    assert done.returncode == 1
    assert "unknown option" in done.stderr


def test_same_toolchain_gives_the_same_file(toolchain, tmp_path):
    first = write_nest_config(tmp_path, toolchain)
    assert write_nest_config(tmp_path, toolchain) == first
    assert first.stat().st_mode & 0o111
