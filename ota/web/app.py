"""`create_app(settings)`: the viewer and the Collection API as one ASGI application (Starlette).

Read-only: the app opens the repositories with `RepositoryReader` (no lock, published commits only)
and writes nothing but its own index. Around every request: only GET and HEAD are answered (405
otherwise), what `ota track` published since the last request is picked up, and every response
carries strict security headers (no script but this origin's, no frame, no referrer).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ota.settings import Settings
from ota.web import api, search_pages, snapshots, views
from ota.web.archive import Archive
from ota.web.feeds import DEFAULT_LIMIT

HERE = Path(__file__).parent
#: Pages and API answers may use this origin's styles and scripts, nothing else; forms post here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
logger = logging.getLogger("ota.web")


class Guard:
    """Only GET and HEAD; the archive refreshed; security headers on every response."""

    def __init__(self, app: ASGIApp, archive: Archive) -> None:
        self.app = app
        self.archive = archive

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD"):
            response = PlainTextResponse(
                "Method Not Allowed", status_code=405, headers={"Allow": "GET, HEAD"}
            )
            await response(scope, receive, self._secured(send))
            return
        try:
            self.archive.refresh()
        except sqlite3.DatabaseError as error:  # a damaged index ("database disk image is malformed")
            self.archive.rebuild_index(error)
        secured = self._secured(send)
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await secured(message)

        try:
            await self.app(dict(scope), receive, tracked)  # a copy: routing rewrites the scope's path
        except sqlite3.DatabaseError as error:
            if started:
                raise
            self.archive.rebuild_index(error)  # derived data: built again, and the request answered
            await self.app(scope, receive, secured)

    @staticmethod
    def _secured(send: Send) -> Send:
        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in SECURITY_HEADERS if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        return secured


def _secured_protocol() -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol (h11), whose own 400 answers (a request it cannot parse: two
    Content-Length, an unknown Transfer-Encoding, a NUL in the target, headers too large) carry
    the security headers too: they never reach the app, so `Guard` cannot add them."""
    import h11
    from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

    class SecuredH11Protocol(H11Protocol):
        def send_400_response(self, msg: str) -> None:
            headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
            event = h11.Response(
                status_code=400, headers=[*headers, *SECURITY_HEADERS], reason=STATUS_PHRASES[400]
            )
            for part in (event, h11.Data(data=msg.encode("ascii")), h11.EndOfMessage()):
                self.transport.write(self.conn.send(part))
            self.transport.close()

    return SecuredH11Protocol


def _closing(archive: Archive) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            archive.close()

    return lifespan


def create_app(settings: Settings, *, count_in_background: bool = True) -> Starlette:
    """The viewer and the API for the collection `settings` describe.

    Raises `RecordError` when the versions repository does not exist or is not one. Counts of a long
    history are computed in worker processes in the background unless `count_in_background` is off
    (then before this returns)."""
    archive = Archive(settings, count_in_background=count_in_background)
    prefix = f"{settings.serve.base_path}/v1"
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.trim_blocks = templates.env.lstrip_blocks = True
    templates.env.globals.update(api_prefix=prefix, url=views.url)
    templates.env.filters["day"] = lambda date: date.strftime("%Y-%m-%d") if date else ""
    templates.env.filters["moment"] = lambda date: date.strftime("%Y-%m-%d %H:%M UTC") if date else ""

    async def server_error(request: Request, exc: Exception) -> Response:
        """Starlette's answer to a bug: sent from outside every middleware, `Guard` included, so it
        carries the security headers itself."""
        logger.exception("error answering %s", request.url.path, exc_info=exc)
        secured = {name.decode(): value.decode() for name, value in SECURITY_HEADERS}
        if request.url.path.startswith(prefix):
            return api.JSONAnswer({"error": "Internal Server Error"}, status_code=500, headers=secured)
        return PlainTextResponse("Internal Server Error", status_code=500, headers=secured)

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.url.path.startswith(prefix):
            return api.JSONAnswer({"error": "Not found"}, status_code=404)
        response: Response = templates.TemplateResponse(
            request, "message.html", {"title": "Not found", "text": "There is no page here."}, status_code=404
        )
        return response

    app = Starlette(
        routes=[
            *search_pages.api_routes(prefix),  # an extension of the Collection API
            # OTA's engine (Express's `app.use(BASE_PATH, router)`) answers `/api/v1` as `/api/v1/`;
            # a Mount alone would redirect it.
            Route(prefix, api.welcome),
            Mount(prefix, routes=api.routes()),
            Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
            *views.routes(),
            *search_pages.page_routes(),
            *snapshots.routes(),
        ],
        exception_handlers={404: not_found, 500: server_error},
        lifespan=_closing(archive),
    )
    app.state.archive = archive
    app.state.templates = templates
    app.state.api_prefix = prefix
    app.state.feed_limit = DEFAULT_LIMIT
    app.add_middleware(Guard, archive=archive)
    return app


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    on_listening: Callable[[str], None] | None = None,
    **options: Any,
) -> None:
    """Run the app with uvicorn until interrupted (bound to 127.0.0.1 unless told otherwise).

    The address is bound before the app is built, so an address in use or not this machine's raises
    OSError (with the address in its message) instead of a server that logs and exits;
    `on_listening` is then called with the URL served."""
    import uvicorn

    host = host or settings.serve.host
    port = port or settings.serve.port
    listening = _listening_socket(host, port)
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        http=_secured_protocol(),
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1,::1",  # X-Forwarded-* only from a reverse proxy on this machine
        server_header=False,
        log_level=options.pop("log_level", "warning"),
        **options,
    )
    shown_host = f"[{host}]" if ":" in host else host
    if on_listening is not None:
        on_listening(f"http://{shown_host}:{listening.getsockname()[1]}/")
    with listening:
        uvicorn.Server(config).run(sockets=[listening])


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port`; OSError names the address when it cannot."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        if host not in ("", "0.0.0.0", "::") and not _is_ip(host):
            family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        listening = _bound(host, port, family)
    except OSError as error:
        code = error.errno if isinstance(error.errno, int) and error.errno > 0 else None  # not getaddrinfo's
        reason = os.strerror(code) if code is not None else (error.strerror or str(error))
        raise OSError(error.errno, f"cannot listen on {host}:{port}: {reason}") from error
    listening.set_inheritable(True)
    return listening


def _bound(host: str, port: int, family: socket.AddressFamily) -> socket.socket:
    """A listening TCP socket. Created with its protocol named (IPPROTO_TCP), which asyncio needs to
    see before it sets TCP_NODELAY on the connections accepted (`socket.create_server` leaves it 0):
    without it a response written in two parts waits 40 ms for the client's delayed ACK."""
    listening = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host in ("", "::"):
            listening.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # "::" takes IPv4 too
        listening.bind((host, port))
        listening.listen(2048)
    except OSError:
        listening.close()
        raise
    return listening


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
