"""The client never follows a redirect: the credentials stay with the configured host.

Two tiny servers on 127.0.0.1: the first answers every request with a redirect to the
second, which records whatever reaches it. It must record nothing.
"""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chorus.errors import ChorusPermanentError
from chorus.sandbox import seed
from chorus.sandbox.testing import make_facturx_pdf


class Recorder(BaseHTTPRequestHandler):
    """Records each request (method, path, headers, body) and answers `server.answer`."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        self.server.received.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
        )
        status, headers, payload = self.server.answer(self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(answer) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.received = []
    server.answer = answer
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def target():
    """Where a redirect points: it would gladly hand out a token and answer any call."""
    token = json.dumps({"access_token": "stolen", "token_type": "Bearer", "expires_in": 3600})

    def answer(path):
        body = token if "token" in path else json.dumps({"codeRetour": 0, "libelle": "ok"})
        return 200, {"Content-Type": "application/json"}, body.encode()

    with serve(answer) as server:
        yield server


@pytest.fixture(params=[301, 302, 303, 307, 308])
def redirector(request, target):
    def answer(path):
        return request.param, {"Location": f"{url_of(target)}{path}"}, b""

    with serve(answer) as server:
        server.status = request.param
        yield server


def test_an_api_redirect_is_refused_and_the_target_never_sees_the_account(
    make_client, sandbox, redirector, target
):
    client = make_client(api_base_url=url_of(redirector))  # a genuine token from the sandbox

    with pytest.raises(ChorusPermanentError) as caught:
        client.find_structure_by_siret(seed.BUYER_NONE)

    assert caught.value.code == "redirected"
    assert caught.value.http_status == redirector.status
    assert "redirection" in caught.value.message_fr
    assert len(redirector.received) == 1  # not retried either
    assert "cpro-account" in {k.lower() for k in redirector.received[0]["headers"]}
    assert target.received == []


def test_a_deposit_redirect_is_refused_and_the_file_goes_nowhere(make_client, redirector, target):
    client = make_client(api_base_url=url_of(redirector))

    with pytest.raises(ChorusPermanentError) as caught:
        client.deposit_facturx(make_facturx_pdf(number="F-1"), invoice_number="F-1")

    assert caught.value.code == "redirected"
    assert target.received == []


def test_a_token_redirect_is_refused_and_the_target_never_sees_the_client_secret(
    make_client, sandbox, redirector, target
):
    client = make_client(token_url=f"{url_of(redirector)}/api/oauth/token")

    with pytest.raises(ChorusPermanentError) as caught:
        client.check_connection()

    assert caught.value.code == "redirected"
    assert sandbox.piste_client["client_secret"] not in str(caught.value)
    assert sandbox.piste_client["client_secret"] not in repr(caught.value)
    assert len(redirector.received) == 1
    assert target.received == []
    assert not [r for r in sandbox.requests() if r["path"].startswith("/cpro/")]
