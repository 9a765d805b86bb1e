"""What WeasyPrint may read while it renders an invoice: our own files, nothing else.

WeasyPrint's default fetcher opens any `file:` path and any `http:`/`https:` URL that a
document or a stylesheet names. The invoice is made from our templates, but its values come
from users (labels, names, notes): if one ever reached the markup unescaped, an
`<img src="http://…">` would make a worker call any host (SSRF) and a `file:///…` would read
and print any file the worker can read. This fetcher allows:
- `file:` inside our own resources: the Latin font cut (CHORALE_VAR_DIR/fonts), the
  templates and static folders, and the system font folders (a `local()` font face is read
  from there);
- `data:` (inline, nothing is fetched).

Everything else is refused; WeasyPrint logs the refusal and renders without the resource.
It costs nothing on an ordinary invoice, which names no resource at render time: the fonts
are read once per process, when the stylesheets are parsed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.conf import settings
from weasyprint.urls import URLFetcher, URLFetcherResponse

# Where Debian's fontconfig looks (fonts-dejavu-core, fonts-wqy-microhei...).
SYSTEM_FONT_DIRS = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.local/share/fonts",
    "~/.fonts",
)


class RefusedResource(ValueError):
    """A resource outside our own files: never fetched."""


class LocalFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that reads only files under `roots`, and `data:` URLs."""

    def __init__(self, roots: list[Path]) -> None:
        # Nothing but files and inline data, and never a redirect, even if `fetch` below
        # were bypassed.
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)
        self.roots = tuple(root.resolve() for root in roots)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        scheme = url.partition(":")[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self.allowed_path(url)
            if path is not None:
                # The very file that was checked (links resolved), read as WeasyPrint
                # would (its media type guessed from the name).
                return super().fetch(path.as_uri(), headers)
        raise RefusedResource(f"not one of our resources: {url[:200]}")

    def allowed_path(self, url: str) -> Path | None:
        """The file a `file:` URL names, if it is a file under one of our roots (after
        symbolic links and `..` are resolved)."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_file():
            return None
        return path if any(path.is_relative_to(root) for root in self.roots) else None


def resource_roots() -> list[Path]:
    base = Path(settings.BASE_DIR)
    return [
        Path(settings.VAR_DIR) / "fonts",
        base / "templates",
        base / "static",
        *(Path(folder).expanduser() for folder in SYSTEM_FONT_DIRS),
    ]


@functools.cache
def url_fetcher() -> LocalFetcher:
    """The process's fetcher, made once (WeasyPrint's own is rebuilt for every document)."""
    return LocalFetcher(resource_roots())
