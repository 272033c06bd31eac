"""Notebooks execute from a clean state, and ``depin report`` builds the site or names the failure."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import papermill
import pytest

from models.site.build import build_report, notebook_title
from models.site.check import check_site

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_notebooks_are_committed_without_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert not outputs(nb), f"{path.name} has outputs; run jupyter nbconvert --clear-output --inplace"
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{path.name} must have exactly one cell tagged 'parameters'"
        assert nb.cells.index(tagged[0]) <= 2, f"{path.name}: the parameters cell comes first (after the title)"
        quick = nb.metadata.get("depin", {}).get("quick_parameters")
        assert isinstance(quick, dict), f"{path.name}: metadata.depin.quick_parameters (for --quick) is missing"
        declared = papermill.inspect_notebook(str(path))
        assert set(quick) <= set(declared), f"{path.name}: quick parameters {set(quick) - set(declared)} undeclared"


@pytest.mark.xdist_group("site")
def test_flywheel_baseline_runs_with_tiny_parameters(site_build):
    # quick parameters in the notebook's metadata: 30 steps, 2 seeds, impulse runs of 80 steps (the crash and
    # the impulse act in step 65; 13 weeks after it)
    outs = site_build.outputs("01_flywheel_baseline.ipynb")
    assert any("image/png" in o.get("data", {}) for o in outs)


def write_notebook(path: Path, heading: str, source: str, parameters: str | None = None,
                   markdown: str = "text") -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {heading}\n\n{markdown}")]
    if parameters is not None:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells.append(nbformat.v4.new_code_cell(source))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


FALSE_FINDING = """from models.analysis.findings import Finding, write_findings
write_findings([Finding("two is below one", 2.0, None, "<", 1.0, "d_finding.ipynb", "none")], findings_path)"""


def test_report_names_a_failing_notebook_a_broken_link_and_a_finding_that_no_longer_holds(tmp_path, capsys):
    books = tmp_path / "nb"
    books.mkdir()
    write_notebook(books / "a_good.ipynb", "A good page", "print(1 + 1)", markdown="[the other page](b_bad.html)")
    write_notebook(books / "b_bad.ipynb", "A bad page", "raise RuntimeError('boom')")
    write_notebook(books / "c_link.ipynb", "A page with a broken link", "print(3)",
                   markdown="see [the params](../params/base.yaml)")
    write_notebook(books / "d_finding.ipynb", "A finding", FALSE_FINDING, parameters='findings_path = "nowhere.json"')
    write_notebook(books / "e_silent.ipynb", "No finding", "print(5)", parameters='findings_path = "nowhere.json"')
    site = tmp_path / "site"
    code = build_report(out=site, quick=True, notebooks_dir=books, results_dir=tmp_path / "results")
    assert code == 1
    err = capsys.readouterr().err
    assert "notebook b_bad.ipynb failed: cell [1] raised RuntimeError: boom" in err
    assert "c_link.html: <a href='../params/base.yaml'> points outside the site" in err
    assert "finding no longer holds (d_finding.ipynb): two is below one" in err
    assert "notebook e_silent.ipynb declares findings_path but wrote no finding" in err
    assert err.count("error:") == 4, err
    index = (site / "index.html").read_text()
    assert 'href="a_good.html">A good page</a>' in index and "FAILED" in index and "no longer holds" in index
    assert "2" in (site / "a_good.html").read_text()
    assert json.loads((site / "findings.json").read_text())[0]["holds"] is False
    assert len(list(books.iterdir())) == 5 and not (books / "nowhere.json").exists()  # sources untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nb", "site"]  # no staging or old site left behind


def test_report_replaces_its_own_site_whole_and_never_a_file_it_did_not_write(tmp_path, capsys, monkeypatch):
    import stat

    from models.site import build

    books = tmp_path / "nb"
    books.mkdir()
    write_notebook(books / "a.ipynb", "A page", "print(1)")
    site = tmp_path / "site"
    assert build_report(out=site, notebooks_dir=books) == 0
    assert stat.S_IMODE(site.stat().st_mode) & 0o055 == 0o055  # readable by others (mkdtemp makes 0700)
    (site / "a.html").write_text("an older build's page")
    assert build_report(out=site, notebooks_dir=books) == 0
    assert "an older build's page" not in (site / "a.html").read_text()
    (site / "CNAME").write_text("added by hand")
    assert build_report(out=site, notebooks_dir=books) == 2
    assert "files this command did not write (CNAME)" in capsys.readouterr().err
    assert (site / "CNAME").read_text() == "added by hand" and (site / "a.html").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert build_report(out=mine, notebooks_dir=books) == 2
    assert "not a built site" in capsys.readouterr().err
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    assert build_report(out=tmp_path / "other", notebooks_dir=books, executed_dir=books) == 2
    assert "would be overwritten" in capsys.readouterr().err
    # a page that cannot be exported is that page's problem; an interrupt leaves no staging directory behind
    monkeypatch.setattr(build, "export_page", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("no export")))
    assert build_report(out=tmp_path / "broken", notebooks_dir=books) == 1
    assert "a.html: export failed: RuntimeError: no export" in capsys.readouterr().err
    monkeypatch.setattr(build, "execute_notebook", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        build_report(out=tmp_path / "interrupted", notebooks_dir=books)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "mine", "nb", "site"]


def test_check_site_finds_missing_files_anchors_remote_resources_and_missing_chrome(tmp_path):
    chrome = '<nav class="depin-nav"></nav><footer class="depin-footer"></footer>'
    (tmp_path / "index.html").write_text(
        f'<html><body>{chrome}<a href="page.html#there">ok</a><a href="page.html#gone">x</a>'
        '<a href="https://example.org">a link out is fine</a><img src="fig.png"><h2 id="top">t</h2>'
        '<a href="#top">up</a></body></html>')
    (tmp_path / "page.html").write_text('<html><body><p id="there"></p><script src="https://cdn.example/x.js">'
                                        '</script><a href="../outside.html">up and out</a><meta name="gone">'
                                        '<script>const m = await import("https://cdn.example/m.mjs");</script>'
                                        "</body></html>")
    (tmp_path.parent / "outside.html").write_text("not part of the site")
    problems = check_site(tmp_path)
    assert problems == [
        "index.html: <a href='page.html#gone'>: no anchor #gone in page.html",
        "index.html: <img src='fig.png'> points to a missing file",
        "page.html: no navigation bar",
        "page.html: no provenance footer",
        'page.html: <script>: ...const m = await import("https://cdn.example/m.mjs");... needs the network',
        "page.html: <script src='https://cdn.example/x.js'> needs the network",
        "page.html: <a href='../outside.html'> points outside the site",
    ]


def test_report_without_notebooks(tmp_path):
    assert build_report(out=tmp_path / "site", notebooks_dir=tmp_path) == 2


@pytest.mark.parametrize(("source", "title"), [("# Title here\nx", "Title here"), ("no heading", None),
                                               ("text\n## Second level ##", "Second level")])
def test_notebook_title(source, title):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# not markdown"), nbformat.v4.new_markdown_cell(source)]
    assert notebook_title(nb) == title


def test_make_lab_runs_as_root_and_make_viz_serves_on_loopback():
    import os
    import subprocess

    lab = subprocess.run(["make", "-n", "lab"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    command = [line for line in lab.splitlines() if "jupyter lab" in line]
    assert command and "--notebook-dir notebooks" in command[-1]
    assert ("--allow-root" in command[-1]) == (os.geteuid() == 0), command[-1]
    viz = subprocess.run(["make", "-n", "viz"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert "solara run models/abm/viz.py --host 127.0.0.1 --port 8765" in viz


def finding_calls(path: Path):
    """The ``Finding(...)`` calls in a notebook's code cells (parsed, not run)."""
    import ast

    source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    return [node for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Finding"]


def test_findings_state_their_direction_in_the_source_not_from_the_value_they_test():
    # a direction chosen from the value it tests ("<" if x < t else ">=") always holds, so it tests nothing
    import ast

    calls = {path.name: finding_calls(path) for path in sorted(NOTEBOOKS.glob("*.ipynb"))}
    assert sum(len(c) for c in calls.values()) >= 25
    for name, found in calls.items():
        for call in found:
            keywords = {k.arg: k.value for k in call.keywords}
            direction = call.args[3] if len(call.args) > 3 else keywords.get("direction")
            threshold = call.args[4] if len(call.args) > 4 else keywords.get("threshold")
            where = f"{name}: Finding at source line {call.lineno}"
            assert isinstance(direction, ast.Constant) and isinstance(direction.value, str), \
                f"{where}: the direction must be a string literal"
            assert not any(isinstance(node, ast.IfExp) for node in ast.walk(threshold)), \
                f"{where}: the threshold must not depend on a condition"
