"""Helpers for the tests of `ota serve`: a collection tracked by the real `ota track`, and the real
server (uvicorn) running it on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import uvicorn
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.settings import Settings, load_settings
from ota.web.app import create_app
from tests.conftest import track_at

# The page of the terms: each run serves the clause given; the last paragraphs are hostile.
PAGE = """<html><head><title>Terms</title></head><body><main>
<h1>Terms of Service</h1>
<p>Welcome to Example. These terms apply to everyone who uses the service.</p>
<p>You agree to {clause}.</p>
<p>We keep your data for {days} days after you close your account.</p>
<p>Contact us by mail.</p>
<p>&lt;img src=x onerror="document.title='pwned'"&gt; is written here as text.</p>
<p>&lt;script&gt;alert('script')&lt;/script&gt; &lt;img src=y onerror=alert(1)&gt;</p>
<p><a href="javascript:document.title='pwned'">Click here</a> and
<a href="data:text/html,&lt;script&gt;document.title='pwned'&lt;/script&gt;">there</a>.</p>
</main></body></html>"""

PRIVACY = """<html><body><article><h1>Privacy</h1><p>We collect {what}.</p></article></body></html>"""

METADATA = """id: demo
name: Demo & Co collection
tagline: Terms of a few services
versions: https://example.org/demo-versions
trackingPeriods:
  - startDate: 2024-01-01
    schedule: "30 */12 * * *"
    serverLocation: Paris, FR
"""


@dataclass
class Collection:
    """A collection folder with its ota.toml, tracked from `site`."""

    root: Path
    site: HTTPServer

    @property
    def config(self) -> Path:
        return self.root / "ota.toml"

    def settings(self) -> Settings:
        return load_settings(self.config)

    def serve(self, clause: str, days: int = 30, what: str = "your email") -> None:
        """What the site answers from now on."""
        self.site.clear()
        self.site.expect_request("/terms").respond_with_data(
            PAGE.format(clause=clause, days=days), content_type="text/html; charset=utf-8"
        )
        self.site.expect_request("/privacy").respond_with_data(
            PRIVACY.format(what=what), content_type="text/html; charset=utf-8"
        )

    def track(self, at: datetime | None = None) -> str:
        """Track the collection: with the library dated `at` if given, else with `ota track`."""
        if at is not None:
            return track_at(self.config, at)
        result = CliRunner().invoke(app, ["track", "--config", str(self.config), "--no-progress"])
        assert result.exit_code == 0, (result.output, result.exception)
        return result.output


def make_collection(root: Path, site: HTTPServer) -> Collection:
    """Two services (one with a space and a `!` in its ID), metadata.yml and ota.toml."""
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    example = {
        "name": "Example",
        "terms": {
            "Terms of Service": {"fetch": site.url_for("/terms"), "select": "main"},
            "Privacy Policy": {"fetch": site.url_for("/privacy"), "select": ["article"], "remove": ".ad"},
        },
    }
    other = {
        "name": "Service B!",
        "terms": {"Privacy Policy": {"fetch": site.url_for("/privacy"), "select": "h1, p"}},
    }
    (declarations / "Example.json").write_text(json.dumps(example, indent=2), "utf-8")
    (declarations / "Service B!.json").write_text(json.dumps(other, indent=2), "utf-8")
    (root / "metadata.yml").write_text(METADATA, "utf-8")
    (root / "ota.toml").write_text(
        '[recorder]\nsnapshot_link_template = "https://example.org/snapshots/commit/%SNAPSHOT_ID"\n'
        "[track]\nextract_workers = 0\n[fetch]\nallow_private_addresses = true\n",
        "utf-8",
    )
    return Collection(root, site)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The real server on 127.0.0.1, for the duration; yields its base URL."""
    application = create_app(settings, count_in_background=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # a watchdog: it returns once the server listens
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
