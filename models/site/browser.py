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
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")

PAGE_STATE = """() => ({
  text: document.body ? document.body.innerText.trim().length : 0,
  images: Array.from(document.images).map(i => ({src: i.currentSrc.slice(0, 80), ok: i.complete && i.naturalWidth > 0,
                                                 width: i.naturalWidth})),
  nav: !!document.querySelector('nav.depin-nav'),
  footer: !!document.querySelector('footer.depin-footer'),
  findings: document.querySelectorAll('#findings tbody tr').length,
  title: document.title,
})"""


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
    problems: list[str] = field(default_factory=list)


def find_chromium() -> str | None:
    """Path of a Chromium executable, or None (``make browser`` installs Debian's package)."""
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
                page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
                page.goto(path.as_uri(), wait_until="load")
                state = page.evaluate(PAGE_STATE)
                shot = screenshots / f"{path.stem}.png"
                page.screenshot(path=str(shot), full_page=True)
                page.close()
                broken = [i["src"] for i in state["images"] if not i["ok"]]
                view = PageView(path.name, shot, state["text"], len(state["images"]), broken, errors, state["nav"],
                                state["footer"], state["findings"], _blank(shot))
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
    if is_index and view.findings_rows < 1:
        problems.append(f"{view.name}: the findings table is missing or empty")
    if not is_index and view.images < 1:
        problems.append(f"{view.name}: no figure")
    return problems
