"""Notebooks execute from a clean state, and ``depin report`` builds the site or names the failure."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill
import pytest

from models.report import build_report, notebook_title

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def test_notebooks_are_committed_without_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert not outputs(nb), f"{path.name} has outputs; run jupyter nbconvert --clear-output --inplace"
        tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) <= 1, f"{path.name} has more than one cell tagged 'parameters'"


def test_flywheel_baseline_runs_with_tiny_parameters(tmp_path):
    out = tmp_path / "01.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOKS / "01_flywheel_baseline.ipynb"), str(out), kernel_name="python3", cwd=str(tmp_path),
        progress_bar=False,
        parameters={"steps": 30, "seeds": 2, "scenario_file": str(ROOT / "params" / "base.yaml"),
                    "crash_file": str(ROOT / "params" / "base_crash.yaml"),
                    "impulse_steps": 80},  # the crash and the impulse act in step 65; 13 weeks after it
    )
    executed = nbformat.read(out, as_version=4)
    outs = outputs(executed)
    assert not [o for o in outs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outs)


def write_notebook(path: Path, heading: str, source: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {heading}\n\ntext"), nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def test_report_writes_pages_and_names_failures(tmp_path, capsys):
    books = tmp_path / "nb"
    books.mkdir()
    write_notebook(books / "a_good.ipynb", "A good page", "print(1 + 1)")
    write_notebook(books / "b_bad.ipynb", "A bad page", "raise RuntimeError('boom')")
    site = tmp_path / "site"
    code = build_report(out=site, quick=True, notebooks_dir=books)
    assert code == 1
    assert "b_bad.ipynb" in capsys.readouterr().err
    index = (site / "index.html").read_text()
    assert 'href="a_good.html">A good page</a>' in index
    assert "FAILED" in index
    assert "2" in (site / "a_good.html").read_text()
    assert not list(books.glob("*.html")) and len(list(books.iterdir())) == 2  # sources untouched


def test_report_without_notebooks(tmp_path):
    assert build_report(out=tmp_path / "site", notebooks_dir=tmp_path) == 2


@pytest.mark.parametrize(("source", "title"), [("# Title here\nx", "Title here"), ("no heading", None),
                                               ("text\n## Second level ##", "Second level")])
def test_notebook_title(source, title):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# not markdown"), nbformat.v4.new_markdown_cell(source)]
    assert notebook_title(nb) == title
