"""The validation report: one self-contained HTML page per campaign, kept in its crate.

``write_report(campaign_dir, store)`` reads a campaign crate (written by ``repro compare``,
``repro regress`` or ``repro campaign``) and the run crates it cites, renders the report
(verdict on top, verdict table, distributions, rasters, environment difference and drift
class, provenance, links to every run crate) and records it in the crate as ``report.html``
with an ``ro-crate-preview.html`` that links to it.
"""

from __future__ import annotations

from pathlib import Path

from repro.records.store import Store
from repro.site.clock import utc_now

__all__ = ["render_campaign", "write_report", "NotebookFrame"]


def render_campaign(campaign_dir: str | Path, store: Store | None = None,
                    report_dir: Path | None = None) -> str:
    """Render the report of a campaign crate as HTML text (nothing is written).

    Parameters
    ----------
    campaign_dir : str or Path
        Campaign crate directory.
    store : Store, optional
        Store holding the run crates (default: the campaign's own store).
    report_dir : Path, optional
        Where the page will live (run crate links are relative to it); default: the
        campaign crate.

    Raises
    ------
    InputError
        If ``campaign_dir`` is not a campaign crate.
    """
    from repro.report.analysis import drift_assessment
    from repro.report.html import render_report
    from repro.report.view import campaign_runs, load_campaign_view, load_spikes

    view = load_campaign_view(campaign_dir, store)
    loaded = campaign_runs(view)
    by_id = {run.run_id: run for runs in loaded.values() for run in runs}
    drift = drift_assessment(loaded, view.overall)
    return render_report(view, drift,
                         lambda run: by_id.get(run.run_id) or load_spikes(view, run),
                         Path(report_dir or view.directory))


def write_report(campaign_dir: str | Path, store: Store | None = None) -> Path:
    """Render a campaign's report and record it in the campaign crate.

    Parameters
    ----------
    campaign_dir : str or Path
        Campaign crate directory (``crates/campaigns/<id>``).
    store : Store, optional
        Store holding the run crates (default: the campaign's own store).

    Returns
    -------
    Path
        ``<campaign_dir>/report.html`` (also linked from ``ro-crate-preview.html``).

    Raises
    ------
    InputError
        If ``campaign_dir`` is not a campaign crate.
    IntegrityError
        If the campaign's summary or statistics are unreadable.
    """
    from repro.report.attach import attach_report
    from repro.report.view import SUMMARY_FILE

    started = utc_now()
    directory = Path(campaign_dir).resolve()
    html = render_campaign(directory, store)
    import json

    overall = json.loads((directory / SUMMARY_FILE).read_text()).get("overall") or "none"
    return attach_report(directory, html, str(overall), started, utc_now())


class NotebookFrame:
    """Show a report inline in Jupyter (an ``<iframe srcdoc>``, so its styles stay inside).

    Parameters
    ----------
    report : str or Path
        The report file.
    height : int
        Frame height in pixels.
    """

    def __init__(self, report: str | Path, height: int = 900) -> None:
        self.report = Path(report)
        self.height = height

    def _repr_html_(self) -> str:
        from html import escape

        page = self.report.read_text(encoding="utf-8")
        return (f'<iframe srcdoc="{escape(page, quote=True)}" style="width:100%;'
                f'height:{self.height}px;border:1px solid #ccc"></iframe>')
