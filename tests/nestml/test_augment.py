"""repro's C++ additions to a NESTML-generated module (no build): the edits refuse a tree they
are not written for, naming the file and the missing text, and change nothing for pairs that
do not read signed dopamine."""

from __future__ import annotations

from pathlib import Path

import pytest

from repro.errors import ReproError
from repro.nestml.augment import CXX_FILES, augment, cxx_digest, needs_augment
from repro.nestml.pairs import SynapsePair

SIGNED = SynapsePair("dopa_syn", "lif", vt_ports=("mod_spikes",), vt_amount="amount")
PLAIN = SynapsePair("stdp_syn", "lif")


def test_only_pairs_naming_an_amount_variable_need_the_signed_transmitter(tmp_path: Path):
    assert needs_augment([PLAIN, SIGNED]) and not needs_augment([PLAIN])
    augment(tmp_path, "mod", [PLAIN], "_nestml")  # nothing to do: the tree is not read
    assert list(tmp_path.iterdir()) == []
    assert [name for name, _ in cxx_digest()] == list(CXX_FILES)
    assert all(len(digest) == 64 for _, digest in cxx_digest())


def test_generated_code_without_the_anchor_stops_the_build_naming_file_and_text(
        tmp_path: Path):
    (tmp_path / "CMakeLists.txt").write_text("set(MODULE_SOURCES\n    other.cpp\n)\n")
    with pytest.raises(ReproError, match=r"CMakeLists.txt: expected the NESTML-generated "
                                         r"text 'mod.h mod.cpp' once, found it 0 times"):
        augment(tmp_path, "mod", [SIGNED], "_nestml")
