"""``depin report``: execute every notebook with papermill and publish them as a static HTML site.

Each ``notebooks/*.ipynb`` runs in a fresh ``python3`` kernel with ``notebooks/`` as working directory
(so notebooks refer to ``../params/...``). The committed notebooks are never modified: executed copies go
to a temporary directory, are exported with nbconvert's HTMLExporter (images embedded) and written as
``<out>/<stem>.html``, with ``<out>/index.html`` linking every page by its first markdown heading.

``--quick`` overrides the parameters a notebook declares in its ``parameters`` cell with small values
(:data:`QUICK_PARAMETERS`); parameters a notebook does not declare are never injected.
"""

from __future__ import annotations

import html
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from models.io import atomic_write_text, provenance

KERNEL = "python3"
# Small values for --quick, applied only to the parameters a notebook declares.
QUICK_PARAMETERS = {"steps": 104, "seeds": 3, "replicates": 3, "quick": True}


@dataclass
class PageResult:
    """Outcome of one notebook."""

    notebook: Path
    title: str
    html_name: str
    seconds: float
    error: str | None = None


def default_notebooks_dir() -> Path:
    """The project's ``notebooks/`` (next to the package), else ``./notebooks``."""
    beside_package = Path(__file__).resolve().parent.parent / "notebooks"
    return beside_package if beside_package.is_dir() else Path.cwd() / "notebooks"


def notebook_title(nb) -> str | None:
    """Text of the first markdown heading of a notebook node, or None."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        match = re.search(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", cell.source, flags=re.MULTILINE)
        if match:
            return match.group(1)
    return None


def notebook_parameters(path: Path, quick: bool, out_dir: Path | None = None) -> dict:
    """Parameters to inject: the quick values of the names the notebook declares (or none).

    A notebook that declares ``findings_path`` writes its Findings into the site being built
    (``<out_dir>/findings.json``).
    """
    import papermill

    declared = papermill.inspect_notebook(str(path))
    injected = {k: v for k, v in QUICK_PARAMETERS.items() if k in declared} if quick else {}
    if out_dir is not None and "findings_path" in declared:
        injected["findings_path"] = str(Path(out_dir).resolve() / "findings.json")
    return injected


def execute_notebook(path: Path, out_dir: Path, tmp: Path, quick: bool) -> PageResult:
    """Execute one notebook into ``tmp`` and write its HTML page into ``out_dir``.

    A failing notebook still gets a page (showing the error) and a result with ``error`` set.
    """
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    executed = tmp / path.name
    started = time.perf_counter()
    error = None
    try:
        papermill.execute_notebook(
            str(path), str(executed), parameters=notebook_parameters(path, quick, out_dir), kernel_name=KERNEL,
            cwd=str(path.parent), progress_bar=False, log_output=False,
        )
    except Exception as exc:  # noqa: BLE001 - any failure is reported with the notebook name
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}"
    seconds = time.perf_counter() - started
    nb = nbformat.read(str(executed if executed.exists() else path), as_version=4)
    title = notebook_title(nb) or path.stem
    body, _ = HTMLExporter(embed_images=True).from_notebook_node(nb, resources={"metadata": {"name": title}})
    html_name = f"{path.stem}.html"
    atomic_write_text(out_dir / html_name, body)
    return PageResult(path, title, html_name, seconds, error)


def index_html(pages: list[PageResult], quick: bool) -> str:
    """The site's index page."""
    prov = provenance()
    items = []
    for page in pages:
        status = "" if page.error is None else f' <strong>FAILED</strong> ({html.escape(page.error)})'
        items.append(
            f'<li><a href="{html.escape(page.html_name)}">{html.escape(page.title)}</a> '
            f"<small>({html.escape(page.notebook.name)}, {page.seconds:.0f} s)</small>{status}</li>"
        )
    mode = "quick parameters (short horizon, few replicates)" if quick else "full parameters"
    commit = prov["git_commit"] or "not a git checkout"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>DePIN Flywheel Lab</title>\n"
        "<style>body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}</style>\n"
        "</head>\n<body>\n<h1>DePIN Flywheel Lab</h1>\n"
        "<p>Does a DePIN token flywheel sustain growth, or does it collapse under price shocks, and where "
        "is the boundary? Each page is a notebook executed from the committed source.</p>\n"
        f"<ul>\n{chr(10).join(items)}\n</ul>\n"
        f"<p><small>Built {html.escape(prov['created_utc'])} with {mode}; commit {html.escape(commit)}; "
        f"Python {html.escape(prov['python'])}.</small></p>\n</body>\n</html>\n"
    )


def build_report(out: Path = Path("site"), quick: bool = False, notebooks_dir: Path | None = None) -> int:
    """Execute every notebook and write the site.

    Args:
        out: site directory.
        quick: inject small parameters (see :data:`QUICK_PARAMETERS`).
        notebooks_dir: where the ``.ipynb`` files are (default: :func:`default_notebooks_dir`).

    Returns:
        0 when every notebook ran, 1 when one failed (named on stderr), 2 when there is none.
    """
    notebooks_dir = notebooks_dir or default_notebooks_dir()
    notebooks = sorted(notebooks_dir.glob("*.ipynb"))
    if not notebooks:
        print(f"error: no notebooks in {notebooks_dir}", file=sys.stderr)
        return 2
    out = Path(out)
    pages = []
    with tempfile.TemporaryDirectory(prefix="depin-report-") as tmp:
        for path in notebooks:
            print(f"executing {path.name} ...", flush=True)
            page = execute_notebook(path, out, Path(tmp), quick)
            print(f"  {'FAILED' if page.error else 'ok'} in {page.seconds:.1f} s -> {out / page.html_name}")
            pages.append(page)
    atomic_write_text(out / "index.html", index_html(pages, quick))
    print(f"wrote {out / 'index.html'}")
    failed = [p for p in pages if p.error]
    for page in failed:
        print(f"error: notebook {page.notebook.name} failed: {page.error}", file=sys.stderr)
    return 1 if failed else 0
