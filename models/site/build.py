"""``depin report``: execute every notebook with papermill and publish them as a static HTML site.

Each ``notebooks/*.ipynb`` runs in a fresh ``python3`` kernel with ``notebooks/`` as working directory (so
notebooks refer to ``../params/...``). The committed notebooks are never modified: executed copies go to a
temporary directory (or ``executed_dir``), are exported with nbconvert's HTMLExporter (figures embedded, code
hidden behind a toggle) and wrapped with the site's navigation and provenance footer (``models.site.pages``).

The whole site is built in a staging directory beside ``out`` and appears by one rename; an ``out`` that is not
a site this command built is refused, never overwritten. The built site is checked (``models.site.check``):
a failing notebook, a broken local link or a finding that no longer holds makes the exit code 1.

``--quick`` injects the notebook's own quick parameters (``metadata.depin.quick_parameters``), else the
generic :data:`QUICK_PARAMETERS` it declares; parameters a notebook does not declare are never injected.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from models.site.pages import Page, index_html, wrap_notebook_page

KERNEL = "python3"
# Small values for --quick, for notebooks that declare no quick parameters of their own.
QUICK_PARAMETERS = {"steps": 104, "seeds": 3, "replicates": 3, "quick": True}
MARKER = ".depin-site.json"  # written into every site this command builds; another directory is never replaced
PROGRESS = ("it/s]", "run/s]", "s/it]", "s/run]", "it [", "run [")  # tqdm's text form, to drop its bars


class SiteError(Exception):
    """The site cannot be written where asked (exit code 2)."""


def default_notebooks_dir() -> Path:
    """The project's ``notebooks/`` (next to the package), else ``./notebooks``."""
    beside_package = Path(__file__).resolve().parents[2] / "notebooks"
    return beside_package if beside_package.is_dir() else Path.cwd() / "notebooks"


def notebook_title(nb) -> str | None:
    """Text of the first markdown heading of a notebook node, or None."""
    import re

    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        match = re.search(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", cell.source, flags=re.MULTILINE)
        if match:
            return match.group(1)
    return None


def notebook_parameters(path: Path, quick: bool, findings_path: Path | None = None,
                        results_dir: Path | None = None) -> dict:
    """Parameters to inject into one notebook.

    They are its quick values (of the names it declares; none unless ``quick``), and where its Findings
    (``findings_path``) and sweep stores (``results_dir``) go when it declares those names.
    """
    import nbformat
    import papermill

    declared = papermill.inspect_notebook(str(path))
    injected = {}
    if quick:
        own = nbformat.read(str(path), as_version=4).metadata.get("depin", {}).get("quick_parameters")
        quick_values = own if own is not None else QUICK_PARAMETERS
        unknown = sorted(set(own or {}) - set(declared))
        if unknown:
            raise ValueError(f"{path.name}: metadata.depin.quick_parameters names {', '.join(unknown)}, which the "
                             f"parameters cell does not declare (it declares {', '.join(sorted(declared))})")
        injected = {k: v for k, v in quick_values.items() if k in declared}
    if findings_path is not None and "findings_path" in declared:
        injected["findings_path"] = str(Path(findings_path).resolve())
    if results_dir is not None and "results_dir" in declared:
        injected["results_dir"] = str(Path(results_dir).resolve())
    return injected


def _widget_free(nb):
    """The notebook with its widget outputs replaced, for a static page.

    Progress bars are dropped; other widgets (the explorer's controls, which need a kernel) become a line
    saying where they work.
    """
    import nbformat

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "application/vnd.jupyter.widget-view+json" not in data:
                kept.append(out)
                continue
            text = str(data.get("text/plain", ""))
            if any(mark in text for mark in PROGRESS) or "%|" in text:
                continue
            kept.append(nbformat.v4.new_output("display_data", data={
                "text/markdown": "*Interactive controls: they need a running kernel. Open this notebook with "
                                 "`make lab` to use them.*"}))
        cell["outputs"] = kept
    nb.metadata.pop("widgets", None)
    return nb


def _sweeps_touched(results_dir: Path | None, since: float) -> list[dict]:
    """The sweep stores under ``results_dir`` whose manifest was written after ``since`` (a notebook's sweeps)."""
    if results_dir is None or not Path(results_dir).is_dir():
        return []
    found = []
    for manifest in sorted(Path(results_dir).glob("*/manifest.json")):
        if manifest.stat().st_mtime < since:
            continue
        try:
            m = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        found.append({"name": m.get("name", manifest.parent.name), "spec_hash": str(m.get("spec_hash", "?")),
                      "code_hash": str(m.get("model", {}).get("code_hash", "?")),
                      "runs": m.get("completed_runs", "?"), "status": m.get("status", "?")})
    return found


def execute_notebook(path: Path, executed_dir: Path, quick: bool, findings_path: Path | None = None,
                     results_dir: Path | None = None) -> tuple[Page, object]:
    """Execute one notebook into ``executed_dir``; its page record and executed node (not yet exported).

    A failing notebook still gets a page (showing the error) and a record with ``error`` set.
    """
    import nbformat
    import papermill

    executed = executed_dir / path.name
    started_wall, started = time.time(), time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(path), str(executed), parameters=notebook_parameters(path, quick, findings_path, results_dir),
            kernel_name=KERNEL, cwd=str(path.parent), progress_bar=False, log_output=False,
        )
    except papermill.PapermillExecutionError as exc:
        error = f"cell [{exc.exec_count}] raised {exc.ename}: {exc.evalue}"
    except Exception as exc:  # noqa: BLE001 - any failure is reported with the notebook name
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    seconds = time.perf_counter() - started
    nb = nbformat.read(str(executed if executed.exists() else path), as_version=4)
    page = Page(stem=path.stem, title=notebook_title(nb) or path.stem, html_name=f"{path.stem}.html",
                notebook=path.name, seconds=seconds, error=error,
                sweeps=_sweeps_touched(results_dir, started_wall - 1.0))
    return page, nb


def export_page(nb, page: Page, pages: Sequence[Page], prov: dict, quick: bool) -> str:
    """The page's HTML: nbconvert's export of the executed notebook inside the site's chrome."""
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter(embed_images=True).from_notebook_node(_widget_free(nb),
                                                                  resources={"metadata": {"name": page.title}})
    return wrap_notebook_page(body, pages, page, prov, quick)


def _ours(out: Path) -> bool:
    """Whether ``out`` may be replaced.

    That is a site built here, an empty directory, or one holding only the ``findings.json`` that the
    notebooks write by default when run by hand.
    """
    return (out / MARKER).is_file() or {p.name for p in out.iterdir()} <= {"findings.json"}


def _prepare_out(out: Path) -> None:
    """Refuse an ``out`` that exists and is not a site built here (its files are never touched)."""
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise SiteError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and not _ours(out):
        raise SiteError(f"--out {out}: a directory that `depin report` did not build (no {MARKER}); choose "
                        "another --out or empty it yourself")


def _publish(staging: Path, out: Path) -> None:
    """Swap the finished staging directory in for ``out``: one rename each way, then the old site goes."""
    if not out.is_dir():
        staging.rename(out)
        return
    _prepare_out(out)  # checked again: something may have written into it while the notebooks ran
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    out.rename(old)
    staging.rename(out)
    shutil.rmtree(old)


def build_report(out: Path = Path("site"), quick: bool = False, notebooks_dir: Path | None = None,
                 results_dir: Path | None = None, executed_dir: Path | None = None) -> int:
    """Execute every notebook and write the site.

    Args:
        out: site directory (replaced as a whole once the new site is complete).
        quick: inject the notebooks' quick parameters.
        notebooks_dir: where the ``.ipynb`` files are (default: :func:`default_notebooks_dir`).
        results_dir: parent of the sweep stores the notebooks use (default: ``results/`` beside the notebooks).
        executed_dir: keep the executed notebooks here (default: a temporary directory).

    Returns:
        0 when every notebook ran and the site checks out, 1 when a notebook failed, a link is broken or a
        finding no longer holds (each named on stderr), 2 when there is no notebook or ``out`` is refused.
    """
    from models.analysis.findings import holds
    from models.io import atomic_write_json, atomic_write_text, provenance
    from models.site.check import check_site
    from models.site.flywheel_figures import write_flywheel

    notebooks_dir = Path(notebooks_dir or default_notebooks_dir())
    notebooks = sorted(notebooks_dir.glob("*.ipynb"))
    if not notebooks:
        print(f"error: no notebooks in {notebooks_dir}", file=sys.stderr)
        return 2
    out = Path(out)
    try:
        _prepare_out(out)
    except SiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results_dir = Path(results_dir) if results_dir is not None else notebooks_dir.parent / "results"
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    findings_path = staging / "findings.json"
    atomic_write_json(findings_path, [])
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="depin-report-") as tmp:
        executed_dir = Path(executed_dir) if executed_dir is not None else Path(tmp)
        executed_dir.mkdir(parents=True, exist_ok=True)
        runs = []
        for path in notebooks:
            print(f"executing {path.name} ...", flush=True)
            page, nb = execute_notebook(path, executed_dir, quick, findings_path, results_dir)
            print(f"  {'FAILED' if page.error else 'ok'} in {page.seconds:.1f} s", flush=True)
            runs.append((page, nb))
        pages = [page for page, _ in runs]
        prov = provenance()
        for page, nb in runs:
            atomic_write_text(staging / page.html_name, export_page(nb, page, pages, prov, quick))
    findings = json.loads(findings_path.read_text())
    write_flywheel(staging / "flywheel.svg")
    atomic_write_text(staging / "index.html", index_html(pages, findings, prov, quick))
    atomic_write_json(staging / MARKER, {"kind": "depin-site", "quick": quick, "seconds": time.perf_counter() -
                                         started, "pages": [p.html_name for p in pages], "provenance": prov})
    problems = [f"notebook {p.notebook} failed: {p.error}" for p in pages if p.error]
    problems += [f"finding no longer holds ({f.get('notebook')}): {f.get('statement')}" for f in findings
                 if not holds(f)]
    problems += check_site(staging)
    _publish(staging, out)
    print(f"wrote {out / 'index.html'} ({len(pages)} pages, {len(findings)} findings) in "
          f"{time.perf_counter() - started:.0f} s")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0
