"""Optional dependencies (extras): a feature whose extra is not installed says, in one line and
before it starts, which one to install; what does not need it does not load it.

"Not installed" is made real for one test by marking the module absent in `sys.modules`, where
Python's import system then finds nothing, as when the package is missing."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.errors import MissingExtra
from ota.extras import EXTRAS
from ota.store.timestamps import check_token
from tests.test_dropin import PAGE, collection, write_service
from tests.test_track import track

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def absent(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)


def served_collection(tmp_path: Path, httpserver: HTTPServer, settings: str) -> Path:
    root = collection(tmp_path)
    with (root / "ota.toml").open("a", encoding="utf-8") as file:
        file.write(settings)
    httpserver.expect_request("/tos").respond_with_data(PAGE.format(title="Terms"), content_type="text/html")
    write_service(
        root, "Example", {"Terms of Service": {"fetch": httpserver.url_for("/tos"), "select": "main"}}
    )
    return root


@pytest.mark.parametrize(
    ("settings", "module", "line"),
    [
        (
            '[notify]\nurls = ["json://127.0.0.1:9/hook"]\n',
            "apprise",
            "ota: notifications need apprise: pip install 'ota[notify]'",
        ),
        (
            '[timestamps]\nauthority = "http://127.0.0.1:9/tsr"\n',
            "rfc3161_client",
            "ota: timestamps need rfc3161-client: pip install 'ota[timestamps]'",
        ),
    ],
)
def test_track_without_the_extra_its_settings_need_says_which_before_fetching(
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    settings: str,
    module: str,
    line: str,
) -> None:
    """Notifications or timestamps set, their package missing: exit 2 with the pip command, and
    nothing fetched or recorded."""
    root = served_collection(tmp_path, httpserver, settings)
    absent(monkeypatch, module)
    code, output = track(root)
    assert (code, output.splitlines()) == (2, [line])
    assert httpserver.log == []
    assert not (root / "snapshots").exists() and not (root / "versions").exists()


def test_new_without_readability_says_which_extra_before_fetching(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`ota new` needs readability-lxml: exit 2 and the pip command, and the page is not fetched."""
    absent(monkeypatch, "readability")
    result = CliRunner().invoke(
        app, ["new", httpserver.url_for("/tos"), "--declarations", str(tmp_path / "declarations")]
    )
    assert result.exit_code == 2
    assert result.output == "ota: `ota new` needs readability-lxml: pip install 'ota[new]'\n"
    assert httpserver.log == []


def test_checking_a_timestamp_without_rfc3161_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """`ota verify` reads timestamps with rfc3161-client: without it, the same one line."""
    absent(monkeypatch, "rfc3161_client")
    with pytest.raises(
        MissingExtra, match=r"^timestamps need rfc3161-client: pip install 'ota\[timestamps\]'$"
    ):
        check_token("0" * 40, b"", None)


def test_each_extra_is_declared_and_installed_by_the_test_extra() -> None:
    """pyproject.toml has an extra per entry of ota.extras, with its package, and `test` includes
    them all (the tests exercise every feature)."""
    extras = tomllib.loads(PYPROJECT.read_text("utf-8"))["project"]["optional-dependencies"]
    for name, (_module, package, _needed_by) in EXTRAS.items():
        assert [requirement.split(">")[0] for requirement in extras[name]] == [package]
    assert f"ota[{','.join(EXTRAS)}]" in extras["test"]


def test_a_plain_tracking_run_loads_no_optional_dependency_nor_the_viewer() -> None:
    """Importing what `ota track` runs loads neither the extras, nor Playwright (started with the
    first page that needs a browser), nor the viewer's toolkit, nor what signs commits, nor httpx's
    command-line client (click, rich, pygments: rich is loaded for a progress bar only)."""
    code = (
        "import sys, ota.cli, ota.tracking.run, ota.report.deliver, ota.report.logs; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    heavy = {
        "apprise",
        "readability",
        "rfc3161_client",
        "playwright",
        "starlette",
        "uvicorn",
        "jinja2",
        "cryptography",
        "click",
        "rich",
        "pygments",
    }
    assert loaded & heavy == set()


def test_status_loads_neither_the_network_nor_git() -> None:
    """`ota status` reads a JSON file: httpx, pygit2, the diff engine and the orchestrator stay unloaded."""
    code = (
        "import sys, ota.cli, ota.report.status; "
        "print(' '.join(m for m, module in sys.modules.items() if module is not None"
        " and m.split('.')[0] in ('httpx', 'pygit2', 'asyncio', 'rapidfuzz')))"
        "; print('ota.tracking.track' if 'ota.tracking.track' in sys.modules else '')"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_the_network_stack_is_imported_after_the_recording_process_starts() -> None:
    """What `ota track` imports before its run starts loads neither httpx nor httpcore: the run
    starts its recording process first, then imports them while that process starts on the other
    core (`ota.tracking.run`), instead of one start-up after the other."""
    code = (
        "import sys, ota.cli, ota.cli.tracking, ota.tracking.launch, ota.tracking.run, ota.report.logs,"
        " ota.report.summary, ota.fetch; "
        "print(' '.join(sorted({m.split('.')[0] for m, module in sys.modules.items() if module}"
        " & {'httpx', 'httpcore'})))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
    uses = subprocess.run(
        [sys.executable, "-c", "import sys, ota.fetch; ota.fetch.Fetcher; print('httpx' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert uses.stdout.strip() == "True"
