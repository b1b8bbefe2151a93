"""The content-addressed build cache: keys, atomic installation, integrity on lookup."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from repro.nestml.cache import BuildCache, canonical_key, default_cache_dir, tree_digest

facts = st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8),
                                                      st.lists(st.integers(), max_size=3)),
                        max_size=6)


@given(facts=facts)
def test_key_does_not_depend_on_key_order(facts):
    reordered = dict(reversed(list(facts.items())))
    assert canonical_key(facts) == canonical_key(reordered)


def test_key_changes_with_any_fact():
    base = {"nestml_version": "9.0.0", "flags": ["-O3", "-D_GLIBCXX_USE_CXX11_ABI=0"]}
    assert canonical_key(base) != canonical_key({**base, "nestml_version": "9.0.1"})
    assert canonical_key(base) != canonical_key({**base, "flags": ["-O3"]})


def test_default_cache_dir_follows_repro_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("REPRO_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "nestml"


def install_entry(cache: BuildCache, key: str, content: bytes) -> dict:
    with cache.staging() as stage:
        (stage / "lib.so").write_bytes(content)
        return cache.install(stage, key, {"what": content.decode()}, checked=["lib.so"])


def test_installed_entry_is_found_with_its_checksums(tmp_path):
    cache = BuildCache(tmp_path, "modules")
    assert cache.lookup("k1") is None
    install_entry(cache, "k1", b"first")
    manifest = cache.lookup("k1")
    assert manifest["what"] == "first"
    assert manifest["key"] == "k1"
    assert set(manifest["checked_files"]) == {"lib.so"}
    assert list((tmp_path / "staging").iterdir()) == []


def test_tampered_entry_is_discarded(tmp_path):
    cache = BuildCache(tmp_path, "modules")
    install_entry(cache, "k1", b"first")
    (cache.entry_dir("k1") / "lib.so").write_bytes(b"changed")
    assert cache.lookup("k1") is None
    assert not cache.entry_dir("k1").exists()


def test_losing_an_installation_race_keeps_the_first_entry(tmp_path):
    cache = BuildCache(tmp_path, "modules")
    install_entry(cache, "k1", b"first")
    manifest = install_entry(cache, "k1", b"second")
    assert manifest["what"] == "first"
    assert (cache.entry_dir("k1") / "lib.so").read_bytes() == b"first"
    assert list((tmp_path / "staging").iterdir()) == []


def test_failed_build_leaves_no_entry_and_no_staging(tmp_path):
    cache = BuildCache(tmp_path, "modules")
    try:
        with cache.staging() as stage:
            (stage / "half.o").write_bytes(b"x")
            raise RuntimeError("compiler failed")
    except RuntimeError:
        pass
    assert cache.lookup("k1") is None
    assert list((tmp_path / "staging").iterdir()) == []


def test_tree_digest_covers_names_and_contents(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.h").write_text("one")
    digest, files = tree_digest(tmp_path)
    assert set(files) == {"a/x.h"}
    (tmp_path / "a" / "x.h").rename(tmp_path / "a" / "y.h")
    assert tree_digest(tmp_path)[0] != digest
