"""The sandbox's HTTP server (standard library only, no Django): PISTE's token endpoint at
`/api/oauth/token`, the Chorus Pro API under `/cpro/...` and the `/_sim/...` control API, all on
one port. See README.md in this folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from chorus.sandbox import seed
from chorus.sandbox.state import Fault, Platform, Reply, SandboxConfig

logger = logging.getLogger("chorus.sandbox")

TOKEN_PATH = "/api/oauth/token"
JSON_TYPE = "application/json;charset=utf-8"
_OUTAGE_BODY = b"<html><body><h1>503 Service Unavailable</h1></body></html>"


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], platform: Platform) -> None:
        super().__init__(address, SandboxHandler)
        self.platform = platform

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes on a kept-alive connection: without
    # TCP_NODELAY, Nagle + delayed ACK add ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        # Request lines only: never headers (they carry the sandbox's test secrets).
        logger.debug("sandbox: " + format, *args)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch("PUT")

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch("DELETE")

    # --- dispatch ----------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        platform = self.server.platform
        path = urlsplit(self.path).path
        if path.startswith("/_sim"):
            self._control(method, path, self._read_body())
            return
        is_platform_call = path == TOKEN_PATH or path.startswith("/cpro/")
        fault = platform.take_fault(path) if is_platform_call else None
        body = self._read_body()
        headers = {key.lower(): value for key, value in self.headers.items()}
        if is_platform_call:  # counted even when a fault swallows it
            platform.record_request(method, path, headers, body)
        if fault and fault.phase == "before" and self._apply_fault(fault, before=True):
            return
        if path == TOKEN_PATH and method == "POST":
            reply = platform.handle_token(headers, body)
        elif path.startswith("/cpro/"):
            reply = platform.handle_api(method, path, headers, body)
        elif path == "/" and method == "GET":
            reply = Reply(
                200,
                {
                    "sandbox": "Chorus Pro (Chorale)",
                    "token_url": TOKEN_PATH,
                    "api": "/cpro/...",
                    "control": "/_sim/...",
                },
            )
        else:
            reply = Reply(404, headers={"WWW-Authenticate": 'Bearer realm="DefaultRealm"'})
        if fault and fault.phase == "after" and self._apply_fault(fault, before=False):
            return
        self._send(reply)

    def _apply_fault(self, fault: Fault, *, before: bool) -> bool:
        """Play a fault; True when the answer has been given (or the connection dropped)."""
        if fault.kind == "delay":
            time.sleep(fault.delay)
            return False
        if fault.kind == "close":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return True
        if fault.kind == "rate_limit":
            self._send(Reply(429, headers={"Retry-After": "1"}))
            return True
        self._send_raw(fault.status, _OUTAGE_BODY, "text/html", {})
        return True

    def _send(self, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode()
        content_type = JSON_TYPE if reply.body is not None else ""
        self._send_raw(reply.status, payload, content_type, reply.headers)

    def _send_raw(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str]
    ) -> None:
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            self.close_connection = True

    # --- control API -------------------------------------------------------------------------

    def _control(self, method: str, path: str, raw: bytes) -> None:
        try:
            body = json.loads(raw.decode("utf-8") or "{}")
            if not isinstance(body, dict):
                raise ControlError(400, "JSON object expected")
            result = self._control_route(method, path.rstrip("/"), body)
            self._send(Reply(200, result if isinstance(result, dict) else {"result": result}))
        except ControlError as exc:
            self._send(Reply(exc.status, {"error": exc.message}))
        except (ValueError, KeyError, TypeError) as exc:
            self._send(Reply(400, {"error": f"{type(exc).__name__}: {exc}"}))

    def _control_route(self, method: str, path: str, body: dict[str, Any]) -> Any:
        p = self.server.platform
        parts = [unquote(part) for part in path.split("/")[2:]]
        match (method, parts):
            case ("GET", ["seed"]):
                return p.seed_data()
            case ("POST", ["reset"]):
                p.reset()
                return {"reset": True}
            case ("GET", ["stats"]):
                return p.stats()
            case ("GET", ["requests"]):
                return {"requests": list(p.requests)}
            case ("POST", ["requests", "clear"]):
                p.requests.clear()
                return {"cleared": True}
            case ("GET", ["config"]):
                return p.get_config()
            case ("POST", ["config"]):
                return p.set_config(body)
            case ("GET", ["clock"]):
                return {"now": p.clock.now().isoformat(), "speed": p.clock.speed}
            case ("POST", ["clock", "advance"]):
                return {"now": p.clock.advance(float(body.get("seconds", 0))).isoformat()}
            case ("POST", ["faults"]):
                fault = Fault(
                    kind=str(body.get("kind", "status")),
                    route=body.get("route"),
                    remaining=body.get("count"),
                    status=int(body.get("status", 503)),
                    delay=float(body.get("delay", 0.0)),
                    phase=str(body.get("phase", "before")),
                )
                p.add_fault(fault)
                return {"faults": len(p.faults)}
            case ("POST", ["faults", "clear"]) | ("DELETE", ["faults"]):
                p.clear_faults()
                return {"faults": 0}
            case ("POST", ["platform"]):
                return self._set_platform(body)
            case ("POST", ["tokens", "expire"]):
                p.expire_tokens()
                return {"expired": True}
            case ("POST", ["piste", client_id]):
                p.set_subscriptions(client_id, list(body["subscriptions"]))
                return {"client_id": client_id, "subscriptions": sorted(body["subscriptions"])}
            case ("POST", ["accounts", login]):
                return p.update_account(login, body)
            case ("GET", ["flows"]):
                return {"flows": p.dump_flows()}
            case ("POST", ["flows", "process"]):
                return {"processed": p.process_flows_now()}
            case ("POST", ["flows", number, "state"]):
                p.set_flow_state(number, str(body["etat"]))
                return {"numeroFluxDepot": number, "etat": body["etat"]}
            case ("GET", ["invoices"]):
                return {"invoices": p.dump_invoices()}
            case ("POST", ["invoices", "status"]):
                return p.set_invoice_status(
                    status=str(body["statut"]),
                    invoice_id=body.get("identifiantFactureCPP"),
                    number=body.get("numeroFacture"),
                    comment=str(body.get("commentaire", "")),
                )
        raise ControlError(404, f"unknown control endpoint {method} {path}")

    def _set_platform(self, body: dict[str, Any]) -> dict[str, Any]:
        """Shortcuts: up | down (connection dropped) | unavailable (503) | failing (500)
        | slow (delay seconds) | rate_limited (429). Affects every API and token call."""
        p = self.server.platform
        state = body.get("state", "up")
        p.clear_faults()
        faults = {
            "up": None,
            "down": Fault("close"),
            "unavailable": Fault("status", status=503),
            "failing": Fault("status", status=500),
            "slow": Fault("delay", delay=float(body.get("delay", 5.0))),
            "rate_limited": Fault("rate_limit"),
        }
        if state not in faults:
            raise ControlError(400, f"unknown platform state {state!r}")
        if faults[state] is not None:
            p.add_fault(faults[state])
        return {"state": state}


def create_server(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    config: SandboxConfig | None = None,
    speed: float = 1.0,
) -> SandboxServer:
    """A bound, not yet serving, sandbox server (port 0 picks a free port)."""
    return SandboxServer((host, port), Platform(config, speed=speed))


# --- command line (used by `manage.py chorus_sandbox` and `python -m chorus.sandbox`) ---------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8070, help="port (default 8070)")
    parser.add_argument("--list", action="store_true", help="print the seeded data as JSON")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="sandbox clock speed (1 = real time)"
    )
    parser.add_argument(
        "--processing-delay",
        type=float,
        default=10.0,
        help="sandbox seconds from deposit to integration (default 10)",
    )
    parser.add_argument(
        "--availability-delay",
        type=float,
        default=30.0,
        help="sandbox seconds from DEPOSEE to MISE_A_DISPOSITION (default 30)",
    )
    parser.add_argument(
        "--auto-statuses",
        default="",
        help="comma-separated later statuses reached automatically, e.g. SERVICE_FAIT,MANDATEE",
    )
    parser.add_argument(
        "--auto-status-delay", type=float, default=30.0, help="sandbox seconds between them"
    )


def run(options: dict[str, Any], out: Any = None) -> None:
    """Print the seed (`list`) or serve until interrupted."""
    out = out or sys.stdout
    if options.get("list"):
        out.write(json.dumps(seed.seed_listing(), ensure_ascii=False, indent=2) + "\n")
        return
    config = SandboxConfig(
        processing_delay=options["processing_delay"],
        availability_delay=options["availability_delay"],
        auto_statuses=[s for s in options.get("auto_statuses", "").split(",") if s.strip()],
        auto_status_delay=options["auto_status_delay"],
    )
    server = create_server(options["host"], options["port"], config=config, speed=options["speed"])
    out.write(
        f"Chorus Pro sandbox on {server.base_url}\n"
        f"  token URL: {server.base_url}{TOKEN_PATH}\n"
        f"  API base:  {server.base_url} (paths /cpro/...)\n"
        f"  control:   {server.base_url}/_sim/...  (seed: GET /_sim/seed)\n"
    )
    out.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chorus-sandbox", description="Local Chorus Pro sandbox")
    add_arguments(parser)
    run(vars(parser.parse_args(argv)))
