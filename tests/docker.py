"""Docker for the image test and bench/image.py: a client that builds with BuildKit, a daemon
(started when none runs and this machine can run one, stopped afterwards), the base image (Docker's
Python image, or one made from Debian's packages by deploy/debian-base.sh) and ota's image built
from this checkout as the README says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OFFICIAL_BASE = "python:3.11-slim-bookworm"
DEBIAN_BASE = "ota-base:bookworm"


class Unavailable(Exception):
    """Docker cannot run here; the message says why in one line."""


@dataclass
class Docker:
    """A docker client: `docker("ps")` runs `docker ps` and returns what it printed."""

    executable: str
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.executable, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **self.env},
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result

    def __call__(self, *args: str, timeout: float = 600) -> str:
        return self.run(*args, timeout=timeout).stdout.strip()


def client() -> Docker:
    """A client that builds with BuildKit (the Dockerfile mounts a build secret): one with the buildx
    plugin, or a client older than 23.0, which has BuildKit built in (Debian's docker.io, 20.10)."""
    candidates = dict.fromkeys(path for path in (shutil.which("docker"), "/usr/bin/docker") if path)
    for path in candidates:
        if not os.access(path, os.X_OK):
            continue
        if subprocess.run([path, "buildx", "version"], capture_output=True).returncode == 0:
            return Docker(path)
        version = subprocess.run(
            [path, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True
        ).stdout
        if re.match(r"(1\d|2[0-2])\.", version):
            return Docker(path, {"DOCKER_BUILDKIT": "1"})
    raise Unavailable("no docker client that builds with BuildKit (apt-get install docker.io)")


@contextmanager
def daemon(docker: Docker) -> Iterator[None]:
    """A Docker daemon: the one running, or one started here (stopped on exit), without the
    network set-up containers with their own network need: they run with the host's network."""
    info = docker.run("version", "--format", "{{.Server.Version}}", check=False, timeout=60)
    if info.returncode == 0:
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise Unavailable("dockerd is not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        said = (info.stderr.strip().splitlines() or ["no answer"])[-1][:200]
        raise Unavailable(f"no Docker daemon answers ({said}) and starting dockerd needs root")
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [dockerd, "--iptables=false", "--ip6tables=false", "--bridge=none"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while docker.run("info", check=False, timeout=60).returncode != 0:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    lines = log.read().decode(errors="replace").splitlines() or ["no output"]
                    fatal = [line for line in lines if "level=fatal" in line or "failed to start" in line]
                    raise Unavailable(f"dockerd could not start: {(fatal or lines)[-1][:300]}")
                time.sleep(0.5)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def base_image(docker: Docker) -> str:
    """Docker's Python image when it is here or can be pulled, else the one deploy/debian-base.sh
    makes from Debian's packages (made once, kept)."""
    for name in (OFFICIAL_BASE, DEBIAN_BASE):
        if docker.run("image", "inspect", name, check=False).returncode == 0:
            return name
    if docker.run("pull", OFFICIAL_BASE, check=False).returncode == 0:
        return OFFICIAL_BASE
    if shutil.which("mmdebstrap") is None:
        raise Unavailable(f"{OFFICIAL_BASE} cannot be pulled and mmdebstrap is not installed")
    made = subprocess.run(
        ["sh", str(ROOT / "deploy" / "debian-base.sh"), DEBIAN_BASE],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "PATH": os.path.dirname(docker.executable) + os.pathsep + os.environ["PATH"]},
    )
    if made.returncode != 0:
        raise AssertionError(f"deploy/debian-base.sh failed:\n{made.stderr[-3000:]}")
    return DEBIAN_BASE


def pip_ca_bundle() -> Path | None:
    """The certificate authorities pip trusts here (`PIP_CERT`, or pip's `cert` setting), which the
    build must be given when PyPI is reached through a proxy that intercepts TLS."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    for line in listed.splitlines():
        name, _, value = line.partition("=")
        if name.endswith(".cert") and Path(value.strip("'\"")).is_file():
            return Path(value.strip("'\""))
    return None


def build(docker: Docker, base: str, tag: str) -> None:
    """The README's build: `docker build --network host [--build-arg BASE=…] [--secret id=ca,src=…]`."""
    args = ["build", "--network", "host", "--tag", tag]
    if base != OFFICIAL_BASE:
        args += ["--build-arg", f"BASE={base}"]
    bundle = pip_ca_bundle()
    if bundle is not None:
        args += ["--secret", f"id=ca,src={bundle}"]
    docker(*args, str(ROOT), timeout=3600)


def compose(docker: Docker) -> list[str] | None:
    """Docker Compose: the plugin (`docker compose`) or Debian's docker-compose; None when neither."""
    if docker.run("compose", "version", check=False).returncode == 0:
        return [docker.executable, "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None
