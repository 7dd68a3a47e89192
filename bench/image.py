"""The image's figures: its size, its build time (`--no-cache`: every layer but the base's; else
with the daemon's cached layers, after a change of ota's code), the time from `docker run` to the
first request of the tracker, and the memory of the tracker (`ota track --schedule`, one run of a
collection with one terms rendered by Chromium) and of the viewer (`ota serve`, after its pages
and the API were read).

    bench/image.py [--no-cache] [--terms 30]

It uses the daemon that runs (or starts one, as tests/test_image.py does) and builds the image as
the test does; the containers use the host's network and fetch from a site on 127.0.0.1."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import docker as docker_tools
from tests.localserver import LocalServer, Reply
from tests.test_image import free_port, make_collection, publish, run_options, viewer_healthcheck

TAG = "ota:bench-image"


def peak_memory(docker: docker_tools.Docker, container: str) -> str:
    """The container's peak memory (cgroup v1's max_usage), else its current use (`docker stats`)."""
    full_id = docker("inspect", "--format", "{{.Id}}", container)
    for parent in ("/sys/fs/cgroup/memory/docker", "/sys/fs/cgroup/system.slice"):
        peak = Path(parent) / full_id / "memory.max_usage_in_bytes"
        if peak.exists():
            return f"{int(peak.read_text()) / 2**20:.0f} MiB peak"
    return docker("stats", "--no-stream", "--format", "{{.MemUsage}}", container) + " now"


def wait_for(condition, seconds: float = 600) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-cache", action="store_true", help="build every layer again (not the base)")
    parser.add_argument("--terms", type=int, default=30, help="plain terms besides the test's three")
    args = parser.parse_args()

    docker = docker_tools.client()
    with docker_tools.daemon(docker), LocalServer() as site, tempfile.TemporaryDirectory() as folder:
        base = docker_tools.base_image(docker)
        if args.no_cache:
            docker.run("image", "rm", TAG, check=False)
            docker.run("builder", "prune", "--all", "--force", check=False)
        started = time.monotonic()
        docker_tools.build(docker, base, TAG)
        print(
            f"build ({'no cache' if args.no_cache else 'cached layers'}, base {base}): "
            f"{time.monotonic() - started:.1f} s"
        )
        size = int(docker("image", "inspect", "--format", "{{.Size}}", TAG))
        print(f"image size: {size / 1e6:.0f} MB")

        collection = make_collection(Path(folder) / "collection", site)
        for number in range(args.terms):
            path = f"/p/{number}"
            page = f"<html><body><main><p>Rule {number}.</p></main></body></html>"
            site.reply(path, Reply(body=page.encode()))
            terms = {"Terms of Service": {"fetch": site.url(path), "select": "main"}}
            declaration = {"name": f"S{number}", "terms": terms}
            (collection / "declarations" / f"S{number:03}.json").write_text(json.dumps(declaration))
        if os.geteuid() == 0:
            shutil.chown(collection, 4242, 4343)
            for path in collection.rglob("*"):
                shutil.chown(path, 4242, 4343)
        publish(site, 1)

        tracker, viewer = f"ota-bench-tracker-{os.getpid()}", f"ota-bench-viewer-{os.getpid()}"
        try:
            started = time.monotonic()
            docker("run", "-d", "--name", tracker, *run_options(collection), TAG)
            wait_for(lambda: site.stats.starts)
            print(f"docker run to the first request: {site.stats.starts[0] - started:.2f} s")
            wait_for(lambda: "run finished in" in docker.run("logs", tracker).stderr)
            print(
                f"docker run to the end of the first run ({args.terms + 3} terms): "
                f"{time.monotonic() - started:.1f} s"
            )
            print(f"tracker memory: {peak_memory(docker, tracker)}")
            docker("stop", "--time", "60", tracker, timeout=120)

            port = free_port()
            check = shlex.join(viewer_healthcheck(port))
            serve = ["serve", "--host", "0.0.0.0", "--port", str(port)]
            docker("run", "-d", "--name", viewer, "--health-cmd", check,
                   *run_options(collection, read_only=True), TAG, *serve)  # fmt: skip
            wait_for(lambda: _answers(f"http://127.0.0.1:{port}/"))
            for path in ("/", "/api/v1/services", "/services/Scripted/Privacy%20Policy"):
                _answers(f"http://127.0.0.1:{port}{path}")
            print(f"viewer memory: {peak_memory(docker, viewer)}")
        finally:
            for name in (tracker, viewer):
                docker.run("rm", "--force", name, check=False)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return bool(response.status == 200)
    except OSError:
        return False


if __name__ == "__main__":
    main()
