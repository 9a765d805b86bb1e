"""WeasyPrint reads only our own files while it renders an invoice: never the network, never
another file of the machine.

The hostile documents go through the invoice's own pipeline (InvoiceHTML, the process's
stylesheets, font configuration and fetcher). An audit hook records every file the process
opens meanwhile, and a local HTTP server records every request it receives.
"""

import base64
import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pikepdf
import pytest
from django.conf import settings
from PIL import Image
from weasyprint import CSS

from facturx_export import pdf
from facturx_export.fetcher import LocalFetcher, RefusedResource, url_fetcher

_opened: list[str] | None = None  # filled while `files_opened` watches


def _audit(event: str, args: tuple) -> None:
    if _opened is not None and event == "open" and isinstance(args[0], str | bytes | Path):
        _opened.append(os.path.realpath(os.fsdecode(args[0])))


sys.addaudithook(_audit)  # cannot be removed: it does nothing outside `files_opened`


@contextmanager
def files_opened() -> Iterator[list[str]]:
    global _opened
    _opened = opened = []
    try:
        yield opened
    finally:
        _opened = None


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        body = _png_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    """A server that would hand out an image and a stylesheet to whoever asks."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.hits = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", httpd.hits
    httpd.shutdown()
    httpd.server_close()


def _png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 0, 0)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def secret_png(tmp_path) -> Path:
    """A readable image outside our resources: printed if it were ever read."""
    path = tmp_path / "secret.png"
    path.write_bytes(_png_bytes())
    return path


def render(body: str, *, head: str = "") -> bytes:
    """`body` as an invoice document, through the invoice's own render pipeline."""
    resources = pdf.get_resources()
    html = pdf.InvoiceHTML.from_string(
        f"<html><head>{head}</head><body>{body}<p>Facture</p></body></html>", resources.base_url
    )
    return html.write_pdf(
        stylesheets=[resources.font_faces, resources.stylesheet],
        font_config=resources.font_config,
    )


def images_in(rendered: bytes) -> int:
    document = pikepdf.open(io.BytesIO(rendered))
    return sum(
        1
        for page in document.pages
        for xobject in (page.Resources.get("/XObject") or {}).values()
        if xobject.get("/Subtype") in ("/Image", "/Form")
    )


def hostile(url: str, secret: Path) -> tuple[str, str]:
    head = (
        f'<link rel="stylesheet" href="{url}/style.css"/>'
        f"<style>@import url({url}/import.css); "
        f"body {{ background: url({url}/background.png) }} "
        f"p {{ background: url({secret.as_uri()}) }}</style>"
    )
    body = (
        f'<img src="{url}/x"/>'
        f'<img src="{url.replace("http:", "https:")}/y"/>'
        '<img src="file:///etc/passwd"/>'
        f'<img src="{secret.as_uri()}"/>'
        f'<img src="file://localhost{secret}"/>'
        f'<img src="{settings.BASE_DIR.as_uri()}/templates/../../../../etc/passwd"/>'
        '<object data="file:///etc/hostname"></object>'
    )
    return head, body


def test_an_invoice_document_never_reaches_the_network_nor_another_file(server, secret_png):
    url, hits = server
    head, body = hostile(url, secret_png)
    render("")  # the process's resources (fonts, stylesheets) are read before watching

    with files_opened() as opened:
        rendered = render(body, head=head)

    assert hits == []
    assert "/etc/passwd" not in opened and "/etc/hostname" not in opened
    assert str(secret_png) not in opened
    assert images_in(rendered) == 0


def test_the_html_parser_path_is_held_to_the_same_fetcher(server, secret_png):
    url, hits = server
    head, body = hostile(url, secret_png)
    fallbacks = pdf.stats["html_parser_fallbacks"]

    with files_opened() as opened:
        rendered = render(body + "<p>Article\x0cimporté</p>", head=head)

    assert pdf.stats["html_parser_fallbacks"] == fallbacks + 1
    assert hits == []
    assert "/etc/passwd" not in opened and str(secret_png) not in opened
    assert images_in(rendered) == 0


def test_a_stylesheet_font_face_reaches_neither_the_network_nor_another_file(server):
    url, hits = server
    resources = pdf.get_resources()
    with files_opened() as opened:
        CSS(
            string=(
                f'@font-face {{ font-family: "X"; src: url("{url}/font.ttf") }}\n'
                '@font-face { font-family: "Y"; src: url("file:///etc/passwd") }'
            ),
            font_config=resources.font_config,
            url_fetcher=resources.url_fetcher,
        )
    assert hits == []
    assert "/etc/passwd" not in opened


def test_our_own_files_and_inline_data_are_still_read():
    inline = base64.b64encode(_png_bytes()).decode()
    favicon = Path(settings.BASE_DIR, "static", "img", "favicon.svg").resolve()

    with files_opened() as opened:
        rendered = render(
            f'<img src="{favicon.as_uri()}"/><img src="data:image/png;base64,{inline}"/>'
        )

    assert str(favicon) in opened
    assert images_in(rendered) == 2


def test_the_fonts_and_templates_are_our_resources_and_nothing_else_is():
    render("")
    fetcher = url_fetcher()
    stylesheet = Path(settings.BASE_DIR, "templates", pdf.STYLESHEET)
    assert fetcher.allowed_path(stylesheet.as_uri()) == stylesheet.resolve()
    cuts = list(Path(settings.VAR_DIR, "fonts").resolve().glob("*.ttf"))
    assert cuts  # made by the first render of the process
    for cut in cuts:
        assert fetcher.allowed_path(cut.as_uri()) == cut
    dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if dejavu.exists():
        assert fetcher.allowed_path(dejavu.as_uri()) == dejavu
    for url in (
        "file:///etc/passwd",
        f"file://elsewhere{stylesheet}",
        f"{Path(settings.BASE_DIR).as_uri()}/settings/settings.py",
        f"{Path(settings.BASE_DIR, 'templates').as_uri()}/",  # a folder
    ):
        assert fetcher.allowed_path(url) is None, url
    for url in ("http://127.0.0.1:9/x", "https://example.org/x", "ftp://example.org/x"):
        with pytest.raises(RefusedResource):
            fetcher.fetch(url)


def test_a_link_out_of_a_resource_folder_is_refused(tmp_path, secret_png):
    root = tmp_path / "resources"
    root.mkdir()
    (root / "inside.png").write_bytes(_png_bytes())
    (root / "link.png").symlink_to(secret_png)
    fetcher = LocalFetcher([root])

    assert fetcher.fetch((root / "inside.png").as_uri()).read() == _png_bytes()
    with pytest.raises(RefusedResource):
        fetcher.fetch((root / "link.png").as_uri())
    with pytest.raises(RefusedResource):
        fetcher.fetch(f"{root.as_uri()}/../secret.png")
