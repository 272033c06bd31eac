"""The published site: every notebook runs, every finding holds, every link resolves, Chromium shows it all.

The site is built once per session by the ``site_build`` fixture (``depin report --quick``); the notebook tests
(``test_notebook_*.py``) check the same executed notebooks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from models.analysis.findings import VERDICTS, holds
from models.site.browser import find_chromium, view_site
from models.site.build import MARKER
from models.site.check import check_site

pytestmark = pytest.mark.xdist_group("site")
ROOT = Path(__file__).resolve().parents[1]

NOTEBOOKS_WITH_FINDINGS = {"00_the_thread_claims.ipynb", "06_price_shock_phase_diagram.ipynb",
                           "07_death_spiral_anatomy.ipynb", "08_sensitivity.ipynb", "09_safe_boxes.ipynb"}


def test_every_notebook_runs_and_the_site_checks_out(site_build):
    assert site_build.code == 0, site_build.log[-3000:]
    pages = json.loads((site_build.site / MARKER).read_text())["pages"]
    assert pages == [f"{p.stem}.html" for p in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    assert len(pages) >= 11 and all((site_build.site / page).is_file() for page in pages)
    assert check_site(site_build.site) == []


def test_every_finding_still_holds_in_its_stated_direction(site_build):
    findings = json.loads((site_build.site / "findings.json").read_text())
    assert {f["notebook"] for f in findings} >= NOTEBOOKS_WITH_FINDINGS, "a notebook's findings are missing"
    failing = [f["statement"] for f in findings if not holds(f)]
    assert not failing, failing
    for f in findings:
        assert f["holds"] is True and f["direction"] in (">", "<", ">=", "<="), f
    verdicts = [f["verdict"] for f in findings if f.get("verdict") is not None]
    assert all(f["notebook"] == "00_the_thread_claims.ipynb" for f in findings if f.get("verdict") is not None)
    assert len(verdicts) >= 7 and set(verdicts) <= set(VERDICTS), verdicts  # one per claim of the thread


def test_index_has_the_question_the_flywheel_the_findings_and_the_provenance(site_build):
    index = (site_build.site / "index.html").read_text()
    findings = json.loads((site_build.site / "findings.json").read_text())
    assert "where exactly is the boundary" in index
    assert '<img src="flywheel.svg"' in index and (site_build.site / "flywheel.svg").stat().st_size > 5000
    rows = re.findall(r"<tr><td>", index)
    assert len(rows) == len(findings)
    for page in json.loads((site_build.site / MARKER).read_text())["pages"]:
        assert f'href="{page}"' in index
    footer = index[index.index('<footer class="depin-footer">'):]
    assert re.search(r"commit <code>[0-9a-f]{40}</code> \((clean tree|with uncommitted changes)\)", footer), footer
    assert "CPUs" in footer and "numpy" in footer and "quick mode" in footer


def test_pages_hide_code_behind_a_toggle_and_link_back(site_build):
    page = (site_build.site / "06_price_shock_phase_diagram.html").read_text()
    assert 'id="depin-toggle-code"' in page and "body:not(.depin-show-code) .jp-CodeCell .jp-InputArea" in page
    assert '<a href="index.html">' in page and not re.search(r"<script[^>]*src=[\"']?https?:", page)
    footer = page[page.index('<footer class="depin-footer">'):]
    assert "price_shock-quick" in footer and "notebooks/06_price_shock_phase_diagram.ipynb" in footer


def test_chromium_renders_every_page_with_its_figures(site_build, tmp_path):
    chromium = find_chromium()
    assert chromium, "Chromium is not installed: `make browser` installs Debian's chromium (make test runs it)"
    views = view_site(site_build.site, tmp_path / "screenshots", chromium)
    assert sorted(v.name for v in views) == sorted(p.name for p in site_build.site.glob("*.html"))
    problems = [p for v in views for p in v.problems]
    assert not problems, problems
    index = next(v for v in views if v.name == "index.html")
    assert index.findings_rows == len(json.loads((site_build.site / "findings.json").read_text()))
    for view in views:
        assert view.screenshot.stat().st_size > 20_000, view.name
        if view.name == "index.html":
            assert view.images == 1  # the flywheel
            continue
        # every figure the executed notebook holds is on its page, loaded and laid out
        figures = sum(1 for c in site_build.notebook(view.name.replace(".html", ".ipynb")).cells
                      for o in c.get("outputs", []) if any(k.startswith("image/") for k in o.get("data", {})))
        assert view.images == figures >= 1, (view.name, view.images, figures)
        assert view.code_cells >= 1 and view.code_shown_by_default == 0
        assert view.code_shown_after_toggle == view.code_cells, view.name
