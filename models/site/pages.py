"""The HTML around the notebooks: navigation, a code toggle, the provenance footer and the index page.

Every page is a static file that works from ``file://`` with no network: the style and the one script (the
code toggle) are inline and figures are embedded or local files. nbconvert's remote scripts (require.js,
MathJax, mermaid, the widget manager) are switched off where it exports (``models.site.build.OFFLINE``), and
``models.site.check`` fails a page that would still fetch anything.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SITE_TITLE = "DePIN Flywheel Lab"
QUESTION = (
    "A DePIN (decentralised physical infrastructure network: Helium wireless, Filecoin storage, Akash compute, "
    "Bittensor AI, Hivemapper sensors) pays the providers of its hardware in its own token. The hoped-for "
    "flywheel: rewards bring providers, providers bring capacity, capacity brings paying users, usage burns or "
    "buys tokens, the price rises, and rewards are worth more. The feared reverse: a price shock makes rewards "
    "worthless, providers leave, service degrades, users leave and the price falls further. Does the flywheel "
    "sustain growth, or does it collapse under a price shock, and where exactly is the boundary? Every number "
    "below comes from a notebook executed from the committed source, on models calibrated to the shipped "
    "history of real networks; each shock is measured against its twin, the same run without the shock."
)

# Inline style shared by every page; the notebook pages keep nbconvert's own style beside it.
STYLE = """
.depin-nav{font-family:system-ui,sans-serif;font-size:0.9rem;background:#f4f6f8;border-bottom:1px solid #d0d7de;
  padding:0.5rem 1rem;position:sticky;top:0;z-index:10;line-height:1.8}
.depin-nav a{margin-right:0.8rem;color:#0b5394;text-decoration:none}
.depin-nav a[aria-current=page]{font-weight:bold;color:#111}
.depin-nav button{float:right;font-size:0.85rem}
.depin-footer{font-family:system-ui,sans-serif;font-size:0.8rem;color:#444;border-top:1px solid #d0d7de;
  margin-top:2rem;padding:0.8rem 1rem}
.depin-footer code{font-size:0.75rem}
body:not(.depin-show-code) .jp-CodeCell .jp-Cell-inputWrapper,
body:not(.depin-show-code) .jp-CodeCell .jp-InputArea,
body:not(.depin-show-code) .jp-OutputPrompt,
body:not(.depin-show-code) .jp-InputPrompt{display:none}
.depin-index{font-family:system-ui,sans-serif;max-width:64rem;margin:1.5rem auto;padding:0 1rem;line-height:1.5}
.depin-index table{border-collapse:collapse;width:100%;font-size:0.9rem}
.depin-index th,.depin-index td{border:1px solid #d0d7de;padding:0.35rem 0.5rem;vertical-align:top;text-align:left}
.depin-index th{background:#f4f6f8}
.depin-index .num{white-space:nowrap;text-align:right}
.depin-index .fails{color:#b00020;font-weight:bold}
.depin-index figure{margin:1rem 0;text-align:center}
.depin-index figure img{max-width:32rem;width:100%}
"""

TOGGLE = ("<button type=\"button\" id=\"depin-toggle-code\" onclick=\"var s=document.body.classList.toggle("
          "'depin-show-code');this.textContent=s?'Hide code':'Show code'\">Show code</button>")


@dataclass
class Page:
    """One page of the site.

    Attributes:
        stem: notebook stem (``06_price_shock_phase_diagram``), or ``index``.
        title: the notebook's first heading.
        html_name: file name of the page in the site.
        notebook: the notebook's file name.
        seconds: execution time of the notebook.
        error: the notebook's failure, or None.
        sweeps: the sweep stores the notebook used: name, spec hash, model code hash, runs.
    """

    stem: str
    title: str
    html_name: str
    notebook: str = ""
    seconds: float = 0.0
    error: str | None = None
    sweeps: list[dict[str, Any]] = field(default_factory=list)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def nav_html(pages: Sequence[Page], current: str) -> str:
    """Navigation bar: the index, then every page by number, the current one marked.

    Args:
        pages: every notebook page, in order.
        current: the stem of the page it goes on (``index`` for the index, which gets no code toggle).
    """
    links = [f'<a href="index.html"{" aria-current=page" if current == "index" else ""}>{_e(SITE_TITLE)}</a>']
    for page in pages:
        number = page.stem.split("_", 1)[0]
        mark = " aria-current=page" if page.stem == current else ""
        links.append(f'<a href="{_e(page.html_name)}" title="{_e(page.title)}"{mark}>{_e(number)} '
                     f'{_e(_short(page.title))}</a>')
    toggle = TOGGLE if current != "index" else ""
    return f'<nav class="depin-nav" aria-label="site">{toggle}{"".join(links)}</nav>'


def _short(title: str, words: int = 4) -> str:
    parts = re.sub(r"^\d+\s*[.:·-]?\s*", "", title).split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def footer_html(prov: dict[str, Any], quick: bool, sweeps: Sequence[dict[str, Any]] = (),
                notebook: str | None = None) -> str:
    """Provenance footer: commit and whether the tree was dirty, date, packages, sweep hashes, machine.

    Args:
        prov: ``models.io.provenance()`` taken after the notebooks ran.
        quick: whether the site was built in quick mode.
        sweeps: the sweeps the page used (name, spec hash, model code hash, runs, status).
        notebook: the page's notebook file (None on the index).
    """
    commit = prov.get("git_commit") or "not a git checkout"
    dirty = prov.get("git_dirty")
    state = {True: "with uncommitted changes", False: "clean tree", None: "tree state unknown"}[dirty]
    packages = ", ".join(f"{k} {v}" for k, v in prov.get("packages", {}).items() if v)
    m = prov.get("machine", {})
    machine = (f"{m.get('platform', '?')}, {m.get('architecture', '?')}, {m.get('cpus', '?')} CPUs, "
               f"{m.get('memory_gib', '?')} GiB")
    mode = "quick mode (small designs, for tests)" if quick else "full mode"
    rows = [
        f"Built {_e(prov.get('created_utc', '?'))} in {mode} from commit <code>{_e(commit)}</code> ({state}); "
        f"model code hash <code>{_e(str(prov.get('code_hash', '?'))[:16])}</code>.",
        f"Python {_e(prov.get('python', '?'))}; {_e(packages)}.",
        f"Machine: {_e(machine)}.",
    ]
    if notebook:
        rows.append(f"Source: <code>notebooks/{_e(notebook)}</code> (open it with <code>make lab</code>).")
    if sweeps:
        listed = "; ".join(f"<code>{_e(s['name'])}</code> spec {_e(s['spec_hash'][:12])}, model "
                           f"{_e(s['code_hash'][:12])}, {_e(s['runs'])} runs, {_e(s.get('status', '?'))}"
                           for s in sweeps)
        rows.append(f"Sweeps: {listed}.")
    else:
        rows.append("Sweeps: none (every run is computed in the notebook).")
    return '<footer class="depin-footer">' + "<br>".join(rows) + "</footer>"


def wrap_notebook_page(body: str, pages: Sequence[Page], page: Page, prov: dict[str, Any], quick: bool) -> str:
    """The nbconvert page with the site's style, navigation, code toggle and provenance footer.

    Args:
        body: nbconvert's HTML of the executed notebook.
        pages: every page (for the navigation).
        page: this page.
        prov: provenance for the footer.
        quick: whether the site was built in quick mode.

    Raises:
        ValueError: the HTML has no ``<body>`` tag to put the navigation in.
    """
    body = body.replace("</head>", f"<style>{STYLE}</style>\n</head>", 1)
    nav = nav_html(pages, page.stem)
    status = ""
    if page.error:
        status = f'<p class="depin-footer" style="color:#b00020"><strong>This notebook failed:</strong> ' \
                 f"{_e(page.error)}</p>"
    body, n = re.subn(r"(<body\b[^>]*>)", lambda m: m.group(1) + nav + status, body, count=1)
    if not n:
        raise ValueError(f"{page.html_name}: nbconvert's page has no <body> tag")
    footer = footer_html(prov, quick, page.sweeps, page.notebook)
    return body.replace("</body>", footer + "\n</body>", 1)


def _number(value: float) -> str:
    """Three significant digits, thousands separated (52,500,000 rather than 5.25e+07); tiny values in e-form."""
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e15:
        return f"{value:.3g}"
    if abs(value) >= 1000:
        return f"{float(f'{value:.3g}'):,.0f}"
    return f"{value:.3g}"


def findings_table(findings: Sequence[dict], pages: Sequence[Page]) -> str:
    """The findings as an HTML table: statement, number with interval, verdict, holds, page and figure."""
    if not findings:
        return "<p class=\"fails\">No findings were written (findings.json is empty or missing).</p>"
    by_notebook = {p.notebook: p for p in pages}
    order = {p.notebook: i for i, p in enumerate(pages)}
    rows = []
    for f in sorted(findings, key=lambda f: (order.get(f.get("notebook"), len(order)), )):
        page = by_notebook.get(f.get("notebook"))
        where = (f'<a href="{_e(page.html_name)}">{_e(page.stem.split("_", 1)[0])}</a>' if page
                 else _e(f.get("notebook", "?")))
        interval = f.get("interval")
        number = _number(float(f["value"]))
        if interval:
            number += f" <small>({_number(float(interval[0]))} to {_number(float(interval[1]))})</small>"
        holds = f.get("holds")
        test = (f"{_e(f['direction'])} {_number(float(f['threshold']))}" +
                ("" if holds else ' <span class="fails">no longer holds</span>'))
        rows.append(
            f"<tr><td>{_e(f['statement'])}</td><td class=\"num\">{number}</td><td class=\"num\">{test}</td>"
            f"<td>{_e(f.get('verdict') or '')}</td><td>{where}<br><small>{_e(f.get('figure', ''))}</small></td></tr>"
        )
    return ("<table id=\"findings\"><thead><tr><th>Finding</th><th>Number (interval)</th><th>Holds while</th>"
            "<th>Verdict on the claim</th><th>Page, figure</th></tr></thead><tbody>\n"
            + "\n".join(rows) + "\n</tbody></table>")


def index_html(pages: Sequence[Page], findings: Sequence[dict], prov: dict[str, Any], quick: bool,
               flywheel_image: str | None = "flywheel.svg") -> str:
    """The site's index: title, the question, the flywheel picture, the findings table, the pages.

    Args:
        pages: every notebook page, in order.
        findings: the records of ``findings.json``.
        prov: provenance for the footer.
        quick: whether the site was built in quick mode.
        flywheel_image: file name of the flywheel picture beside the index (None: no picture).
    """
    items = []
    for page in pages:
        status = "" if page.error is None else f' <strong class="fails">FAILED</strong> ({_e(page.error)})'
        items.append(f'<li><a href="{_e(page.html_name)}">{_e(page.title)}</a> '
                     f"<small>({_e(page.notebook)}, {page.seconds:.0f} s)</small>{status}</li>")
    picture = ""
    if flywheel_image:
        picture = (f'<figure><img src="{_e(flywheel_image)}" alt="The flywheel loop: rewards, providers, capacity, '
                   'users, burn and buy, price, and back to rewards">'
                   "<figcaption>The loop every notebook tests: each arrow is a mechanism of the model; a shock "
                   "that reverses one arrow can turn the whole loop.</figcaption></figure>")
    sweeps = {s["name"]: s for page in pages for s in page.sweeps}
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{_e(SITE_TITLE)}</title>\n"
        f"<style>{STYLE}</style>\n</head>\n<body>\n{nav_html(pages, 'index')}\n<main class=\"depin-index\">\n"
        f"<h1>{_e(SITE_TITLE)}</h1>\n<p>{_e(QUESTION)}</p>\n{picture}\n"
        "<h2>Findings</h2>\n<p>Each finding states the direction it must keep; the test suite re-runs the "
        "notebooks and fails when one no longer holds. Verdicts answer the claims of the thread (page 00).</p>\n"
        f"{findings_table(findings, pages)}\n<h2>Pages</h2>\n<ul>\n{chr(10).join(items)}\n</ul>\n</main>\n"
        f"{footer_html(prov, quick, list(sweeps.values()))}\n</body>\n</html>\n"
    )
