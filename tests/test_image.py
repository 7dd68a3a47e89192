"""The image, built and run as the README's Docker section says: built from this checkout (on Docker's
Python image, or on one made from Debian's packages where Docker Hub cannot be reached), then run
for real against a site on 127.0.0.1 with the host's network: `ota track` twice on a mounted
collection (one terms rendered by Chromium in the container), the files belonging to PUID:PGID;
`ota track --schedule` as the default command, healthy, ended by `docker stop`; the viewer with its
health check; compose.yaml as Compose reads it, and run by Compose when it is installed.

The daemon is the running one, or one started for these tests and stopped after them; where none
can run, every test here is skipped with the reason. Nothing but the build's package downloads
(Debian's and PyPI's) leaves the machine: the containers use the host's network and fetch from
127.0.0.1 only."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests import docker as docker_tools
from tests.docker import Docker, Unavailable
from tests.localserver import LocalServer, Reply

pytestmark = pytest.mark.image

TAG = "ota:test-image"
PAGE = "<html><body><main><h1>Terms</h1><p>{}</p></main></body></html>"
# The rendered terms: the page has no text until its script runs.
SCRIPTED = (
    "<html><body><main></main><script>document.querySelector('main').innerHTML = "
    "'<h1>Privacy</h1><p>{}</p>';</script></body></html>"
)


@pytest.fixture(scope="module")
def docker() -> Iterator[Docker]:
    """A client and a daemon (the tests are skipped, with the reason, where none can run)."""
    try:
        client = docker_tools.client()
        with docker_tools.daemon(client):
            yield client
    except Unavailable as reason:
        pytest.skip(str(reason))


@pytest.fixture(scope="module")
def image(docker: Docker) -> str:
    """ota's image built from this checkout (layers cached by the daemon from earlier builds)."""
    try:
        base = docker_tools.base_image(docker)
    except Unavailable as reason:
        pytest.skip(str(reason))
    docker_tools.build(docker, base, TAG)
    return TAG


@pytest.fixture(scope="module")
def site() -> Iterator[LocalServer]:
    with LocalServer() as server:
        yield server


def publish(site: LocalServer, edition: int) -> None:
    """The site's three pages in their `edition`."""
    for path in ("/terms", "/guidelines"):
        site.reply(path, Reply(body=PAGE.format(f"{path[1:]}, edition {edition}.").encode()))
    rendered = SCRIPTED.format(f"Rendered in the browser, edition {edition}.")
    site.reply("/privacy", Reply(body=rendered.encode()))


def make_collection(root: Path, site: LocalServer) -> Path:
    """A collection of three terms on `site`, one of them rendered by Chromium, in a folder owned by
    the user the container runs as (as an operator's collection is)."""
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    services = {
        "Plain": {
            "Terms of Service": {"fetch": site.url("/terms"), "select": "main"},
            "Community Guidelines": {"fetch": site.url("/guidelines"), "select": "main"},
        },
        "Scripted": {
            "Privacy Policy": {"fetch": site.url("/privacy"), "select": "main", "executeClientScripts": True}
        },
    }
    for name, terms in services.items():
        (declarations / f"{name}.json").write_text(json.dumps({"name": name, "terms": terms}), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 1\n", "utf-8")
    return root


def owner() -> tuple[int, int]:
    """PUID:PGID of the tests' containers: a user of its own when the tests run as root."""
    return (4242, 4343) if os.geteuid() == 0 else (os.getuid(), os.getgid())


def give(folder: Path) -> None:
    if os.geteuid() == 0:
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, *owner())


def run_options(collection: Path, *, read_only: bool = False) -> list[str]:
    """The README's `docker run` options (the tracker's, or the viewer's with the collection
    read-only), with the host's network: the site is on 127.0.0.1."""
    puid, pgid = owner()
    mount = f"{collection}:/collection" + (":ro" if read_only else "")
    return [
        "--network", "host", *([] if read_only else ["--shm-size", "1g"]),
        "-e", f"PUID={puid}", "-e", f"PGID={pgid}", "-e", "OTA_ALLOW_PRIVATE_ADDRESSES=1", "-v", mount,
    ]  # fmt: skip


def git(repo: Path, *args: str) -> str:
    """git as root on repositories that belong to another user."""
    command = ["git", "-c", "safe.directory=*", "-C", str(repo), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def assert_sound(collection: Path) -> None:
    """Both repositories pass `git fsck --strict` with nothing left uncommitted, and every file ota
    wrote belongs to PUID:PGID. (`git status` refreshes the index, as root here, unless told not to.)"""
    written = [collection / name for name in ("snapshots", "versions", ".ota")]
    for path in [path for folder in written for path in [folder, *folder.rglob("*")]]:
        assert (path.lstat().st_uid, path.lstat().st_gid) == owner(), path
    for repo in ("snapshots", "versions"):
        git(collection / repo, "fsck", "--strict")
        assert git(collection / repo, "--no-optional-locks", "status", "--porcelain") == ""


def wait_for(condition: Callable[[], object], what: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"still waiting after {seconds} s for {what}"
        time.sleep(0.5)


def health(docker: Docker, container: str) -> str:
    return docker("inspect", "--format", "{{.State.Health.Status}}", container)


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read()


@pytest.fixture
def containers(docker: Docker) -> Iterator[list[str]]:
    """Names of the containers a test starts, removed after it whatever happened."""
    names: list[str] = []
    yield names
    for name in names:
        docker.run("rm", "--force", "--volumes", name, check=False)


def test_ota_track_twice_on_a_mounted_collection_as_puid_and_pgid(
    docker: Docker, image: str, site: LocalServer, tmp_path: Path
) -> None:
    """The first run records the three terms (the scripted one rendered by Chromium in the
    container), the second records what changed on the site; the repositories are sound and
    belong to PUID:PGID."""
    collection = make_collection(tmp_path / "collection", site)
    give(collection)
    publish(site, 1)
    track = ["run", "--rm", *run_options(collection), image, "track", "--no-progress"]

    first = docker.run(*track, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 first records" in first.stdout, first.stdout
    assert any(hit.from_browser for hit in site.requests_to("/privacy"))
    assert "edition 1" in (collection / "versions" / "Scripted" / "Privacy Policy.md").read_text("utf-8")

    publish(site, 2)
    second = docker.run(*track, check=False)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "3 changes" in second.stdout, second.stdout
    assert "edition 2" in (collection / "versions" / "Scripted" / "Privacy Policy.md").read_text("utf-8")
    assert git(collection / "versions", "rev-list", "--count", "HEAD").strip() == "6"
    assert_sound(collection)


def test_the_default_command_tracks_on_schedule_is_healthy_and_stops_on_docker_stop(
    docker: Docker, image: str, site: LocalServer, tmp_path: Path, containers: list[str]
) -> None:
    """`ota track --schedule` (the image's command) tracks at once; the image's health check
    (`ota status --check`, checked every 2 s here) turns healthy; `docker stop` ends it with 143
    well within the grace period, and the repositories are sound."""
    collection = make_collection(tmp_path / "collection", site)
    give(collection)
    publish(site, 1)
    name = f"ota-test-tracker-{os.getpid()}"
    containers.append(name)
    docker("run", "-d", "--name", name, "--health-interval", "2s", *run_options(collection), image)

    wait_for(lambda: health(docker, name) == "healthy", "the tracker's health check")
    wait_for(lambda: "3 tracked, 3 first, " in docker.run("logs", name).stderr, "the first run's end")
    docker("stop", "--time", "60", name, timeout=120)
    state = json.loads(docker("inspect", "--format", "{{json .State}}", name))
    # 143, not 137: ota ended on SIGTERM within docker's 60 s of grace, however long docker took.
    assert state["ExitCode"] == 143 and not state["OOMKilled"], state
    assert_sound(collection)


def viewer_healthcheck(port: int) -> list[str]:
    """compose.yaml's health check of the viewer, for a viewer on `port`."""
    compose = yaml.safe_load((docker_tools.ROOT / "compose.yaml").read_text("utf-8"))
    test = compose["services"]["viewer"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    return [re.sub(r"\$\{OTA_VIEWER_PORT:-8000\}", str(port), part) for part in test[1:]]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tracked_collection(docker: Docker, image: str, site: LocalServer, root: Path) -> Path:
    collection = make_collection(root, site)
    give(collection)
    publish(site, 1)
    docker("run", "--rm", *run_options(collection), image, "track", "--no-progress")
    return collection


def test_the_viewer_serves_the_archive_with_a_health_check_of_its_own(
    docker: Docker, image: str, site: LocalServer, tmp_path: Path, containers: list[str]
) -> None:
    """`ota serve --host 0.0.0.0` on the collection mounted read-only answers `/` and the API's
    services, and compose.yaml's health check of the viewer turns healthy."""
    collection = tracked_collection(docker, image, site, tmp_path / "collection")
    port = free_port()
    name = f"ota-test-viewer-{os.getpid()}"
    containers.append(name)
    check = viewer_healthcheck(port)
    docker(
        "run", "-d", "--name", name, "--health-interval", "2s", "--health-cmd", shlex.join(check),
        *run_options(collection, read_only=True), image, "serve", "--host", "0.0.0.0", "--port", str(port),
    )  # fmt: skip
    wait_for(lambda: health(docker, name) == "healthy", "the viewer's health check")
    status, body = get(f"http://127.0.0.1:{port}/")
    assert status == 200 and b"Scripted" in body
    status, body = get(f"http://127.0.0.1:{port}/api/v1/services")
    assert status == 200
    assert {service["id"] for service in json.loads(body)} == {"Plain", "Scripted"}


def compose_environment(collection: Path, port: int) -> dict[str, str]:
    puid, pgid = owner()
    return {
        **os.environ,
        "OTA_COLLECTION": str(collection),
        "OTA_SNAPSHOTS": str(collection / "snapshots"),
        "OTA_VERSIONS": str(collection / "versions"),
        "OTA_VIEWER_PORT": str(port),
        "PUID": str(puid),
        "PGID": str(pgid),
    }


def test_compose_reads_compose_yaml_and_runs_tracker_and_viewer(
    docker: Docker, image: str, site: LocalServer, tmp_path: Path
) -> None:
    """`docker compose config` accepts compose.yaml with the README's variables; `docker compose up`
    runs the tracker and the viewer on the same repositories (with the host's network here, the
    site being on 127.0.0.1), both healthy."""
    command = docker_tools.compose(docker)
    if command is None:
        pytest.skip("neither the compose plugin nor docker-compose is installed")
    collection = tracked_collection(docker, image, site, tmp_path / "collection")
    port = free_port()
    environment = compose_environment(collection, port)
    project = ["--project-name", f"ota-test-{os.getpid()}", "--file", str(docker_tools.ROOT / "compose.yaml")]
    config = subprocess.run([*command, *project, "config"], capture_output=True, text=True, env=environment)
    assert config.returncode == 0, config.stderr
    services = yaml.safe_load(config.stdout)["services"]
    assert {"tracker", "viewer"} <= set(services)
    assert services["viewer"]["healthcheck"]["test"][-1].count(str(port)) == 1

    # The site is on this machine's 127.0.0.1: the containers use the host's network (so the
    # viewer's port is not published: it listens on the host's); its health check runs every 2 s.
    for service in services.values():
        service.pop("ports", None)
        service.update(image=image, network_mode="host")
    services["tracker"]["environment"]["OTA_ALLOW_PRIVATE_ADDRESSES"] = "1"
    services["viewer"]["healthcheck"]["interval"] = "2s"
    resolved = tmp_path / "compose.yaml"
    resolved.write_text(yaml.safe_dump({**yaml.safe_load(config.stdout), "services": services}), "utf-8")
    project[-1] = str(resolved)

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*command, *project, *args], capture_output=True, text=True, env=environment)

    up = compose("up", "--detach", "--no-build")
    try:
        assert up.returncode == 0, up.stderr
        [tracker] = compose("ps", "--quiet", "tracker").stdout.split()
        [viewer] = compose("ps", "--quiet", "viewer").stdout.split()
        wait_for(lambda: health(docker, viewer) == "healthy", "the viewer's health check")
        status, body = get(f"http://127.0.0.1:{port}/api/v1/services")
        assert status == 200 and len(json.loads(body)) == 2
        wait_for(lambda: "3 tracked, 0 first, " in docker.run("logs", tracker).stderr, "the tracker's run")
    finally:
        down = compose("down", "--timeout", "60")
    assert down.returncode == 0, down.stderr
    assert_sound(collection)
