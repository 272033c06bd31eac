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
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from models.site.pages import Page, index_html, wrap_notebook_page
from models.site.publish import MARKER, SiteError, discard, new_staging, prepare_out, publish, write_marker

__all__ = ["MARKER", "SiteError", "build_report", "execute_notebook", "notebook_parameters", "notebook_title"]

KERNEL = "python3"
# Small values for --quick, for notebooks that declare no quick parameters of their own.
QUICK_PARAMETERS = {"steps": 104, "seeds": 3, "replicates": 3, "quick": True}
PROGRESS = ("it/s]", "run/s]", "s/it]", "s/run]", "it [", "run [")  # tqdm's text form, to drop its bars
SWEEP_LOG = "DEPIN_SWEEP_LOG"  # env var: models.experiments.timed.run_timed appends each sweep it ran to this file
# nbconvert's lab template loads these from CDNs; the site is read offline, so none is loaded (no notebook uses
# LaTeX, mermaid or a live widget on its static page)
OFFLINE = {"mathjax_url": "", "require_js_url": "", "jquery_url": "", "mermaid_js_url": "",
           "mermaid_layout_elk_js_url": "", "jupyter_widgets_base_url": "", "widget_renderer_url": ""}


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


def _sweeps_used(log: Path) -> list[dict]:
    """The sweeps a notebook ran, as ``run_timed`` logged them (last record per sweep name)."""
    if not log.is_file():
        return []
    records = {}
    for line in log.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        records[record.get("name", "?")] = record
    return list(records.values())


def execute_notebook(path: Path, executed_dir: Path, quick: bool, findings_path: Path | None = None,
                     results_dir: Path | None = None) -> tuple[Page, object]:
    """Execute one notebook into ``executed_dir``.

    Args:
        path: the committed notebook (never modified).
        executed_dir: where the executed copy is written (not the notebooks' own directory).
        quick: inject the notebook's quick parameters.
        findings_path: where a notebook that declares ``findings_path`` writes its Findings.
        results_dir: where a notebook that declares ``results_dir`` keeps its sweep stores.

    Returns:
        The page record (``error`` set when the notebook failed; it still gets a page showing the error) and
        the executed notebook node (the committed one when nothing was executed).
    """
    import nbformat
    import papermill

    executed = executed_dir / path.name
    log = executed_dir / f".sweeps-{path.stem}.jsonl"
    log.unlink(missing_ok=True)
    started_wall, started = time.time(), time.perf_counter()
    error, before = None, os.environ.get(SWEEP_LOG)
    os.environ[SWEEP_LOG] = str(log)  # the kernel inherits it
    try:
        papermill.execute_notebook(
            str(path), str(executed), parameters=notebook_parameters(path, quick, findings_path, results_dir),
            kernel_name=KERNEL, cwd=str(path.parent), progress_bar=False, log_output=False,
        )
    except papermill.PapermillExecutionError as exc:
        error = f"cell [{exc.exec_count}] raised {exc.ename}: {exc.evalue}"
    except Exception as exc:  # noqa: BLE001 - any failure is reported with the notebook name
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    finally:
        if before is None:
            os.environ.pop(SWEEP_LOG, None)
        else:
            os.environ[SWEEP_LOG] = before
    seconds = time.perf_counter() - started
    fresh = executed.is_file() and executed.stat().st_mtime >= started_wall - 1.0  # not an older run's copy
    try:
        nb = nbformat.read(str(executed if fresh else path), as_version=4)
    except Exception as exc:  # noqa: BLE001 - an unreadable notebook is that page's failure
        error = error or f"cannot read the notebook: {type(exc).__name__}: {exc}"
        nb = nbformat.v4.new_notebook()
    page = Page(stem=path.stem, title=notebook_title(nb) or path.stem, html_name=f"{path.stem}.html",
                notebook=path.name, seconds=seconds, error=error, sweeps=_sweeps_used(log))
    return page, nb


def export_page(nb, page: Page, pages: Sequence[Page], prov: dict, quick: bool) -> str:
    """The page's HTML: nbconvert's export of the executed notebook inside the site's chrome.

    Args:
        nb: the executed notebook node.
        page: its page record.
        pages: every page (for the navigation).
        prov: provenance for the footer (``models.io.provenance``).
        quick: whether the site was built in quick mode.
    """
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(embed_images=True, **OFFLINE)
    body, _ = exporter.from_notebook_node(_widget_free(nb), resources={"metadata": {"name": page.title}})
    return wrap_notebook_page(body, pages, page, prov, quick)


def _declares_findings(path: Path) -> bool:
    import papermill

    return "findings_path" in papermill.inspect_notebook(str(path))


def _build(staging: Path, notebooks: list[Path], quick: bool, results_dir: Path, executed_dir: Path) -> list[str]:
    """Execute, export and check everything into ``staging``; the problems found (empty: all is well)."""
    from models.analysis.findings import holds
    from models.io import atomic_write_json, atomic_write_text, provenance
    from models.site.check import check_site
    from models.site.flywheel_figures import write_flywheel

    findings_path = staging / "findings.json"
    atomic_write_json(findings_path, [])
    started, before = time.perf_counter(), provenance()
    runs = []
    for path in notebooks:
        print(f"executing {path.name} ...", flush=True)
        page, nb = execute_notebook(path, executed_dir, quick, findings_path, results_dir)
        print(f"  {'FAILED' if page.error else 'ok'} in {page.seconds:.1f} s", flush=True)
        runs.append((page, nb))
    pages = [page for page, _ in runs]
    prov = provenance()
    problems = [f"the checkout changed while the notebooks ran ({key}: {before[key]} -> {prov[key]}); build again"
                for key in ("git_commit", "git_dirty", "code_hash") if before[key] != prov[key]]
    for page, nb in runs:
        try:
            atomic_write_text(staging / page.html_name, export_page(nb, page, pages, prov, quick))
        except Exception as exc:  # noqa: BLE001 - one page that cannot be exported is that page's problem
            problems.append(f"{page.html_name}: export failed: {type(exc).__name__}: {exc}")
    try:
        findings = json.loads(findings_path.read_text())
        failing = [f for f in findings if not holds(f)]
    except (ValueError, KeyError, TypeError) as exc:
        findings, failing = [], []
        problems.append(f"findings.json is not a list of findings: {type(exc).__name__}: {exc}")
    write_flywheel(staging / "flywheel.svg")
    atomic_write_text(staging / "index.html", index_html(pages, findings, prov, quick))
    problems = [f"notebook {p.notebook} failed: {p.error}" for p in pages if p.error] + problems
    problems += [f"finding no longer holds ({f.get('notebook')}): {f.get('statement')}" for f in failing]
    wrote = {f.get("notebook") for f in findings}
    problems += [f"notebook {p.notebook} declares findings_path but wrote no finding" for p, path in
                 zip(pages, notebooks, strict=True) if not p.error and p.notebook not in wrote
                 and _declares_findings(path)]
    problems += check_site(staging)
    write_marker(staging, {"kind": "depin-site", "quick": quick, "seconds": time.perf_counter() - started,
                           "pages": [p.html_name for p in pages], "problems": problems, "provenance": prov})
    print(f"built {len(pages)} pages and {len(findings)} findings in {time.perf_counter() - started:.0f} s",
          flush=True)
    return problems


def build_report(out: Path = Path("site"), quick: bool = False, notebooks_dir: Path | None = None,
                 results_dir: Path | None = None, executed_dir: Path | None = None) -> int:
    """Execute every notebook and write the site.

    A build that finds problems still publishes its site (the index marks what failed), and says so.

    Args:
        out: site directory (replaced as a whole once the new site is complete).
        quick: inject the notebooks' quick parameters.
        notebooks_dir: where the ``.ipynb`` files are (default: :func:`default_notebooks_dir`).
        results_dir: parent of the sweep stores the notebooks use (default: ``results/`` beside the notebooks).
        executed_dir: keep the executed notebooks here (default: a temporary directory); not ``notebooks_dir``.

    Returns:
        0 when every notebook ran and the site checks out, 1 when a notebook failed, a page could not be
        exported, a link is broken or a finding no longer holds (each named on stderr), 2 when there is no
        notebook or ``out`` or ``executed_dir`` is refused.
    """
    notebooks_dir = Path(notebooks_dir or default_notebooks_dir())
    notebooks = sorted(notebooks_dir.glob("*.ipynb"))
    if not notebooks:
        print(f"error: no notebooks in {notebooks_dir}", file=sys.stderr)
        return 2
    out = Path(out)
    if executed_dir is not None and Path(executed_dir).resolve() == notebooks_dir.resolve():
        print(f"error: --executed {executed_dir}: is the notebooks' own directory (they would be overwritten)",
              file=sys.stderr)
        return 2
    try:
        prepare_out(out)
    except SiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    results_dir = Path(results_dir) if results_dir is not None else notebooks_dir.parent / "results"
    staging = new_staging(out)
    try:
        with tempfile.TemporaryDirectory(prefix="depin-report-") as tmp:
            executed = Path(executed_dir) if executed_dir is not None else Path(tmp)
            executed.mkdir(parents=True, exist_ok=True)
            problems = _build(staging, notebooks, quick, results_dir, executed)
        publish(staging, out)
    except SiteError as exc:
        print(f"error: {exc}; the new site is in {staging}", file=sys.stderr)
        return 2
    except BaseException:
        discard(staging)  # made by this build (mkdtemp): nothing else is in it
        raise
    print(f"wrote {out / 'index.html'}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if problems else 0
