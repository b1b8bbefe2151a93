"""Neuron-synapse pairs: NESTML 9's co-generation options, model names, cache key (no build)."""

from __future__ import annotations

from pathlib import Path

from repro.nestml.build import MODEL_SUFFIX, build_key_facts, module_models
from repro.nestml.nestconfig import NestToolchain
from repro.nestml.pairs import SynapsePair, pair_codegen_opts
from repro.nestml.shipped import SHIPPED_PAIRS, pairs_for, shipped_models
from repro.nestml.sources import NestmlSource
from repro.site.spynnaker_catalogue import EXTRA_MODELS, paired_nest_name

STDP = SynapsePair("stdp_syn", "lif", synaptic_variables=("last_post",))
DOPA = SynapsePair("dopa_syn", "lif", weight_variable="weight", delay_variable="dly",
                   vt_ports=("mod_spikes",))


def source(name: str, *models: str) -> NestmlSource:
    return NestmlSource(path=Path(f"/m/{name}.nestml"), name=f"{name}.nestml",
                        sha256=name * 4, models=models)


def test_each_pair_is_one_nestml9_pair_entry_with_its_weight_and_delay_variables():
    assert pair_codegen_opts([]) == {}
    opts = pair_codegen_opts([STDP, DOPA])
    assert opts["neuron_synapse_pairs"] == [
        {"neuron": "lif", "synapses": {"stdp_syn": {"post_ports": ["post_spikes"],
                                                    "vt_ports": []}}},
        {"neuron": "lif", "synapses": {"dopa_syn": {"post_ports": ["post_spikes"],
                                                    "vt_ports": ["mod_spikes"]}}}]
    assert opts["weight_variable"] == {"stdp_syn": "w", "dopa_syn": "weight"}
    assert opts["delay_variable"] == {"stdp_syn": "d", "dopa_syn": "dly"}
    assert opts["strictly_synaptic_vars"] == {"stdp_syn": ["last_post"]}
    assert "strictly_synaptic_vars" not in pair_codegen_opts([DOPA])


def test_module_lists_paired_models_instead_of_the_bare_synapse():
    sources = [source("lif", "lif"), source("stdp", "stdp_syn"), source("izk", "izk")]
    assert module_models(sources, [STDP]) == [
        "lif_nestml", "izk_nestml", "lif_nestml__with_stdp_syn_nestml",
        "stdp_syn_nestml__with_lif_nestml"]
    assert module_models(sources, []) == ["lif_nestml", "stdp_syn_nestml", "izk_nestml"]
    assert MODEL_SUFFIX == "_nestml"


def test_pairs_enter_the_cache_key_and_a_module_without_pairs_keeps_its_key():
    toolchain = NestToolchain(nest_version="3.10", nest_package_dir=Path("/n"),
                              include_dir=Path("/n/include"), compiler=Path("/usr/bin/g++"),
                              compiler_version="12", flags=("-O2",), cmake=Path("/c"),
                              make=Path("/m"))
    sources = [source("lif", "lif"), source("stdp", "stdp_syn")]
    bare = build_key_facts(sources, toolchain, "9.0.0")
    assert "pairs" not in bare
    assert build_key_facts(sources, toolchain, "9.0.0", [STDP])["pairs"] == [STDP.describe()]


def test_shipped_pairs_apply_only_when_both_models_are_built():
    for pair in SHIPPED_PAIRS:
        assert {pair.synapse, pair.neuron} <= set(shipped_models())
        assert pairs_for([pair.synapse]) == ()
        assert pair in pairs_for([pair.synapse, pair.neuron])


def test_the_catalogue_names_each_shipped_pair_as_nestml_registers_it():
    """The site layer cannot import repro.nestml: its names must match by construction."""
    for extension in (e for e in EXTRA_MODELS.values() if e.nestml_post):
        pair = next(p for p in SHIPPED_PAIRS if p.synapse == extension.nestml)
        assert pair.neuron == extension.nestml_post
        assert extension.class_on("nest") == pair.nest_synapse(MODEL_SUFFIX)
        assert paired_nest_name(pair.neuron, pair.synapse) == pair.nest_neuron(MODEL_SUFFIX)
