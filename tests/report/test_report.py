"""The validation report: what it shows, that it is self-contained, and that it is recorded in
the campaign crate without breaking it. Campaigns come from real NEST runs (report_store)."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xarray as xr

from repro.records.run_crate import read_metadata, sha256_file, verify_crate
from repro.report import figures
from repro.report.attach import PREVIEW_FILE, REPORT_FILE

pytestmark = pytest.mark.slow


class Page(HTMLParser):
    """Elements of a report page that the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text_by_id: dict[str, list[str]] = {}
        self._open: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag not in ("img", "meta", "br", "link", "input"):
            self._open.append(attributes.get("id", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("img", "meta", "br", "link", "input") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for ident in self._open:
            if ident:
                self.text_by_id.setdefault(ident, []).append(data)

    def text(self, ident: str) -> str:
        """All text inside the element with this id."""
        return " ".join(" ".join(self.text_by_id.get(ident, [])).split())


def _page(campaign: Path) -> tuple[str, Page]:
    text = (campaign / REPORT_FILE).read_text(encoding="utf-8")
    return text, Page(text)


def _summary(campaign: Path) -> dict:
    return json.loads((campaign / "summary.json").read_text())


def test_failing_comparison_shows_fail_first_and_names_what_moved(report_store):
    campaign = report_store.campaigns["fail"]
    summary = _summary(campaign)
    assert summary["overall"] == "fail"  # w_exc x 1.5 must fail; the report must say so
    text, page = _page(campaign)
    banner = page.text("verdict")
    assert banner.split()[1] == "FAIL"
    failing = [c for c in summary["cells"] if c["verdict"] == "fail"]
    assert f"{len(failing)} of {len(summary['cells'])} cells fail" in banner
    assert text.index('id="verdict"') < text.index('id="verdict-table"')
    moved = page.text("moved-summary")
    for cell in failing:
        name = figures.STAT_NAMES[cell["statistic"]]
        assert cell["population"] + ":" in moved
        assert f"{cell['population']} · {name}" in page.text("summary")
        assert name in moved.split(cell["population"] + ":")[1].split(";")[0]


def test_same_model_other_seeds_report_agrees_with_its_summary(report_store):
    campaign = report_store.campaigns["same"]
    summary = _summary(campaign)
    _, page = _page(campaign)
    assert page.text("verdict").split()[1] == summary["overall"].upper()
    assert summary["overall"] in ("pass", "warn")  # same model, same environment
    assert "consistent" in page.text("summary")


def test_verdict_table_has_one_row_per_cell_with_its_numbers(report_store):
    campaign = report_store.campaigns["fail"]
    summary = _summary(campaign)
    _, page = _page(campaign)
    table = page.text("verdict-table")
    rows = [a for t, a in page.tags if t == "tr" and a.get("class") in ("pass", "warn", "fail")]
    assert len(rows) == len(summary["cells"])
    assert [r["class"] for r in rows] == [c["verdict"] for c in summary["cells"]]
    for cell in summary["cells"]:
        assert f"{cell['r']:.3g}" in table
        assert f"{cell['p_adjusted']:.3g}" in table


def test_report_is_self_contained(report_store):
    campaign = report_store.campaigns["fail"]
    text, page = _page(campaign)
    assert not [a for t, a in page.tags if t in ("script", "link", "iframe", "object")]
    images = [a["src"] for t, a in page.tags if t == "img"]
    populations = xr.open_dataset(campaign / "statistics.nc")["population"].size
    assert len(images) == 2 * populations + 1  # distributions + run means each, one raster
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    for tag, attributes in page.tags:
        for key in ("src", "href"):
            value = attributes.get(key, "")
            assert not value.startswith(("http:", "https:", "//")), (tag, value)
    assert "url(" not in text.split("</style>")[0].split("<style>")[1]


def test_links_reach_every_run_crate(report_store):
    campaign = report_store.campaigns["fail"]
    summary = _summary(campaign)
    _, page = _page(campaign)
    hrefs = [a["href"] for t, a in page.tags if t == "a" and "href" in a
             and not a["href"].startswith("#")]
    targets = {(campaign / href).resolve() for href in hrefs}
    for run in summary["baseline"] + summary["candidate"]:
        crate = Path(run["crate"]).resolve()
        assert crate in targets
        assert (crate / "ro-crate-metadata.json").resolve() in targets
    assert all(t.exists() for t in targets)


def test_environment_change_is_shown_with_its_drift_class(report_store):
    campaign = report_store.campaigns["threads"]
    _, page = _page(campaign)
    environment = page.text("environment")
    assert re.search(r"\bthreads 1 2\b", environment), environment
    drift = "drift-with-effect" if _summary(campaign)["overall"] == "fail" else "benign-drift"
    assert drift in environment


def test_provenance_names_hashes_sites_and_timings(report_store):
    campaign = report_store.campaigns["fail"]
    summary = _summary(campaign)
    _, page = _page(campaign)
    provenance = page.text("provenance")
    for run in summary["baseline"] + summary["candidate"]:
        assert run["model_hash"] in provenance
        assert run["env_digest"] in provenance
        assert run["run_id"] in provenance
        result = json.loads((Path(run["crate"]) / "result.json").read_text())
        assert f"{result['timings']['wall_s']:.3g}" in provenance
        job = json.loads((Path(run["crate"]) / "job.json").read_text())
        assert f"pid={job['pid']}" in provenance


def test_report_is_recorded_in_a_campaign_crate_that_still_validates(report_store):
    from repro.records.validation import validate_crate

    campaign = report_store.campaigns["fail"]
    graph = read_metadata(campaign)
    assert graph[REPORT_FILE]["sha256"] == sha256_file(campaign / REPORT_FILE)
    assert {"@id": REPORT_FILE} in graph["./"]["hasPart"]
    action = graph["#action-report"]
    assert action["result"] == {"@id": REPORT_FILE}
    assert {"@id": "statistics.nc"} in action["object"]
    assert verify_crate(campaign) == []
    assert f'href="{REPORT_FILE}"' in (campaign / PREVIEW_FILE).read_text()
    outcome = validate_crate(campaign, "provenance-run-crate-0.5")
    assert outcome.passed, outcome.summary()


def test_writing_the_report_again_replaces_it(report_store, tmp_path):
    import shutil

    from repro.report import write_report

    campaign = tmp_path / "campaigns" / report_store.campaigns["same"].name
    shutil.copytree(report_store.campaigns["same"], campaign)
    write_report(campaign, _store(report_store))
    graph = read_metadata(campaign)
    assert sum(1 for e in graph.values() if e["@id"] == "#action-report") == 1
    assert graph[REPORT_FILE]["sha256"] == sha256_file(campaign / REPORT_FILE)
    assert not list(campaign.glob("*.partial"))


def _store(report_store):
    from repro.records.store import Store

    return Store(report_store.store)


def _labels_have_units(figure, categorical_x: bool = False) -> None:
    for axis in (a for a in figure.axes if a.get_visible()):
        ylabel, xlabel = axis.get_ylabel(), axis.get_xlabel()
        assert ylabel.endswith(")") and "(" in ylabel, ylabel
        assert xlabel and (categorical_x or (xlabel.endswith(")") and "(" in xlabel)), xlabel


@pytest.mark.parametrize("statistic", ["rate", "cv", "lv", "fano", "corr"])
def test_every_figure_axis_has_a_label_with_units(report_store, statistic):
    stats = xr.open_dataset(report_store.campaigns["fail"] / "statistics.nc").load()
    runs = stats["run"].values.tolist()
    groups = {"baseline": runs[:5], "candidate": runs[5:]}
    _labels_have_units(figures.distribution_figure(stats, "exc", groups, [statistic]))
    _labels_have_units(figures.run_means_figure(stats, "exc", groups, [statistic]),
                       categorical_x=True)


def test_raster_axes_have_units(report_store):
    from repro.compare.spikes import load_crate

    summary = _summary(report_store.campaigns["fail"])
    run = load_crate(Path(summary["baseline"][0]["crate"]))
    excerpt = figures.raster_excerpt(run, "baseline", 200.0, 500.0)
    assert sum(ids.size for _, ids, _, _ in excerpt.populations) > 0
    _labels_have_units(figures.raster_figure([excerpt]))


def test_palette_is_okabe_ito_in_group_order():
    colours = figures.group_colours(["a", "b", "c"])
    assert list(colours.values()) == ["#0072B2", "#D55E00", "#009E73"]


def test_not_a_campaign_is_one_clear_error(tmp_path):
    from repro.errors import InputError
    from repro.report import write_report

    (tmp_path / "ro-crate-metadata.json").write_text('{"@graph": []}')
    with pytest.raises(InputError, match="not a campaign crate"):
        write_report(tmp_path)
    assert not (tmp_path / REPORT_FILE).exists()
