"""Checks of a built site that need no browser.

Local links resolve, nothing loads from the network, and every page carries the navigation and the
provenance footer. ``depin report`` fails when one does not hold.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

# attributes whose value the browser fetches to render the page (a link's href is only followed on click)
FETCHED = {("img", "src"), ("img", "srcset"), ("script", "src"), ("link", "href"), ("iframe", "src"),
           ("source", "src"), ("source", "srcset"), ("video", "src"), ("audio", "src"), ("embed", "src"),
           ("object", "data")}


REMOTE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"]?|import\(\s*['"]|\bsrc\s*=\s*['"]?)(?:https?:)?//""",
                    re.IGNORECASE)  # a fetch from the network inside a style or a script


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.ids: set[str] = set()
        self.classes: set[str] = set()
        self.remote_code: list[str] = []  # styles and inline scripts that would fetch from the network
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        self._in = tag if tag in ("script", "style") else None
        for name, value in attrs:
            if value is None:
                continue
            if name in ("href", "src", "data"):
                self.refs.append((tag, name, value))
            elif name == "srcset":
                self.refs.extend((tag, name, part.split()[0]) for part in value.split(",") if part.strip())
            elif name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value)
            elif name == "class":
                self.classes.update(value.split())
            elif name == "style" and REMOTE.search(value):
                self.remote_code.append(f"<{tag} style=...>")

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in and REMOTE.search(data):
            match = REMOTE.search(data)
            self.remote_code.append(f"<{self._in}>: ...{data[max(0, match.start() - 40):match.end() + 40]}...")


def _parse(path: Path) -> _Refs:
    parser = _Refs()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def check_site(site: str | Path, require_chrome: bool = True) -> list[str]:
    """Problems of the site under ``site`` (empty when it is sound).

    Args:
        site: the site directory.
        require_chrome: every page must have the navigation bar and the provenance footer.

    Returns:
        One line per problem: page, what is wrong (a local link or image that does not exist or lies outside
        the site, an anchor that is not on its page, a resource, style or script that would fetch from the
        network, a page without navigation or footer).
    """
    site = Path(site)
    pages = sorted(site.glob("*.html"))
    if not pages:
        return [f"{site}: no HTML pages"]
    parsed = {p.resolve(): _parse(p) for p in pages}
    problems = []
    for page in pages:
        refs = parsed[page.resolve()]
        if require_chrome and "depin-nav" not in refs.classes:
            problems.append(f"{page.name}: no navigation bar")
        if require_chrome and "depin-footer" not in refs.classes:
            problems.append(f"{page.name}: no provenance footer")
        problems += [f"{page.name}: {code} needs the network" for code in refs.remote_code]
        for tag, attribute, value in refs.refs:
            url = urlsplit(value.strip())
            if url.scheme in ("http", "https") or value.strip().startswith("//"):
                if (tag, attribute) in FETCHED:
                    problems.append(f"{page.name}: <{tag} {attribute}={value!r}> needs the network")
                continue
            if url.scheme in ("data", "mailto", "javascript", "about", "blob"):
                continue
            target = page if not url.path else (page.parent / unquote(url.path))
            if not target.resolve().is_relative_to(site.resolve()):
                problems.append(f"{page.name}: <{tag} {attribute}={value!r}> points outside the site")
                continue
            if not target.exists():
                problems.append(f"{page.name}: <{tag} {attribute}={value!r}> points to a missing file")
                continue
            if url.fragment and target.suffix == ".html":
                other = parsed.get(target.resolve()) or _parse(target)
                if url.fragment not in other.ids:
                    problems.append(f"{page.name}: <{tag} {attribute}={value!r}>: no anchor "
                                    f"#{url.fragment} in {target.name}")
    return problems
