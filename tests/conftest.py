"""Fixtures shared by every test."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from typer.testing import CliRunner

from ota.settings import FetchSettings, load_settings

# Hypothesis keeps caches in ./.hypothesis by default: tests write nothing into the source tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "ota-hypothesis")


@pytest.fixture(autouse=True)
def _local_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests fetch from servers on 127.0.0.1, which ota's address guard refuses: they set
    OTA_ALLOW_PRIVATE_ADDRESSES=1, here only. (The guard's own tests build their settings without
    it.) A proxy from the environment would intercept those requests: no test uses one."""
    monkeypatch.setenv("OTA_ALLOW_PRIVATE_ADDRESSES", "1")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


def fetch_settings(**overrides: Any) -> FetchSettings:
    """Fetch settings as the environment makes them (so with the fixture above), changed by `overrides`."""
    return replace(load_settings(environ=dict(os.environ)).fetch, **overrides)


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """`ota track` run in-process installs ota's log handler on the root logger: it is removed after
    each test, so that another library's logs (the test servers') never reach a later command's
    output."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in list(root.handlers):
        if getattr(handler, "_ota", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


@pytest.fixture(autouse=True)
def _no_uncaught_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    """A command that ends in a traceback exits 1, which many tests expect for other reasons: every
    in-process run of the CLI fails its test on an exception the command did not turn into a message."""
    invoke = CliRunner.invoke

    def checked(self: CliRunner, *args: Any, **kwargs: Any) -> Any:
        result = invoke(self, *args, **kwargs)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"the command raised {result.exception!r}") from result.exception
        return result

    monkeypatch.setattr(CliRunner, "invoke", checked)


@pytest.fixture
def git_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolate the git CLI from the machine's configuration; commits made with it get a human author
    (test files that run git by hand use it)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for kind in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{kind}_NAME", "A Human")
        monkeypatch.setenv(f"GIT_{kind}_EMAIL", "human@example.org")
