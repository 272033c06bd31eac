"""Open the built site in headless Chromium (Playwright driving Debian's ``chromium``) and check what it shows.

Every page is opened from ``file://`` with the network switched off (nothing on the site may need it), a
screenshot is taken, and the page counts as rendered when its body has text, its navigation and footer are
there, every image has loaded with a non-zero size, no script raised, and the screenshot is not blank. The
index must also show the findings table with at least one row.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

# Flags of the issue: headless, as root (no sandbox), no GPU, and no background connections (the machine's
# closed network refuses them); Playwright adds --headless itself.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# What the page shows: text of its content only (notebook cells, or the index's main part: the navigation and
# footer alone carry hundreds of characters), and each image loaded and laid out with a size.
PAGE_STATE = """() => ({
  text: Array.from(document.querySelectorAll('.jp-Cell, main.depin-index'))
             .map(e => e.innerText.trim().length).reduce((a, b) => a + b, 0),
  images: Array.from(document.images).map(i => ({src: i.currentSrc.slice(0, 80),
                                                 ok: i.complete && i.naturalWidth > 0
                                                     && i.getBoundingClientRect().width > 0})),
  nav: !!document.querySelector('nav.depin-nav'),
  footer: !!document.querySelector('footer.depin-footer'),
  findings: document.querySelectorAll('#findings tbody tr').length,
  title: document.title,
})"""
VISIBLE_CODE = """() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea'))
                    .filter(e => e.getBoundingClientRect().height > 0).length"""


@dataclass
class PageView:
    """What the browser saw on one page."""

    name: str
    screenshot: Path
    text_chars: int
    images: int
    broken_images: list[str]
    script_errors: list[str]
    nav: bool
    footer: bool
    findings_rows: int
    blank: bool
    code_cells: int = 0
    code_shown_by_default: int = 0
    code_shown_after_toggle: int = 0
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def find_chromium() -> str | None:
    """Path of a Chromium executable: ``$CHROMIUM``, else the first on PATH, else None.

    ``make browser`` installs Debian's package.
    """
    import os

    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    for candidate in CHROMIUM_CANDIDATES:
        path = shutil.which(candidate)
        if path:
            return path
    return None


def _blank(png: Path) -> bool:
    from PIL import Image, ImageStat

    with Image.open(png) as image:
        extrema = ImageStat.Stat(image.convert("L")).extrema[0]
    return extrema[1] - extrema[0] < 16  # one flat colour: nothing was drawn


def view_site(site: str | Path, screenshots: str | Path, chromium: str | None = None,
              width: int = 1280, height: int = 900) -> list[PageView]:
    """Open every page of ``site`` in headless Chromium, screenshot it into ``screenshots``, and check it.

    Args:
        site: the built site (``index.html`` and the notebook pages).
        screenshots: directory for one full-page PNG per page.
        chromium: the Chromium executable (default: :func:`find_chromium`).
        width: viewport width, pixels.
        height: viewport height, pixels.

    Returns:
        One record per page (index first) with what the browser saw and the problems found.

    Raises:
        FileNotFoundError: no Chromium is installed.
    """
    from playwright.sync_api import sync_playwright

    chromium = chromium or find_chromium()
    if chromium is None:
        raise FileNotFoundError("no chromium executable on PATH: run `make browser` (installs Debian's chromium)")
    site, screenshots = Path(site).resolve(), Path(screenshots)
    screenshots.mkdir(parents=True, exist_ok=True)
    pages = sorted(site.glob("*.html"), key=lambda p: (p.name != "index.html", p.name))
    views = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS))
        context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
        try:
            for path in pages:
                page = context.new_page()
                errors: list[str] = []
                requests: list[str] = []
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.on("request", lambda r, requests=requests: requests.append(r.url))
                page.goto(path.as_uri(), wait_until="load")
                state = page.evaluate(PAGE_STATE)
                shot = screenshots / f"{path.stem}.png"
                page.screenshot(path=str(shot), full_page=True)
                code_cells = page.locator(".jp-CodeCell .jp-InputArea").count()
                shown, after = page.evaluate(VISIBLE_CODE), 0
                if page.locator("#depin-toggle-code").count():
                    page.click("#depin-toggle-code")
                    after = page.evaluate(VISIBLE_CODE)
                page.close()
                broken = [i["src"] for i in state["images"] if not i["ok"]]
                outside = [u for u in requests if not u.startswith(("file:", "data:", "about:", "blob:"))]
                view = PageView(path.name, shot, state["text"], len(state["images"]), broken, errors, state["nav"],
                                state["footer"], state["findings"], _blank(shot), code_cells, shown, after, outside)
                view.problems = _problems(view, is_index=path.name == "index.html")
                views.append(view)
        finally:
            context.close()
            browser.close()
    return views


def _problems(view: PageView, is_index: bool) -> list[str]:
    problems = []
    if view.text_chars < 200:
        problems.append(f"{view.name}: almost no text rendered ({view.text_chars} characters)")
    if view.blank:
        problems.append(f"{view.name}: the screenshot is blank")
    if view.broken_images:
        problems.append(f"{view.name}: {len(view.broken_images)} of {view.images} images did not load: "
                        f"{view.broken_images[:3]}")
    if view.script_errors:
        problems.append(f"{view.name}: scripts raised {view.script_errors[:3]}")
    if not view.nav:
        problems.append(f"{view.name}: no navigation bar")
    if not view.footer:
        problems.append(f"{view.name}: no provenance footer")
    if view.requests:
        problems.append(f"{view.name}: asked the network for {view.requests[:3]}")
    if is_index and view.findings_rows < 1:
        problems.append(f"{view.name}: the findings table is missing or empty")
    if view.code_shown_by_default:
        problems.append(f"{view.name}: {view.code_shown_by_default} code cells show before the toggle is pressed")
    if not is_index and view.code_cells and view.code_shown_after_toggle != view.code_cells:
        problems.append(f"{view.name}: the toggle shows {view.code_shown_after_toggle} of {view.code_cells} code cells")
    if not is_index and view.images < 1:
        problems.append(f"{view.name}: no figure")
    return problems
