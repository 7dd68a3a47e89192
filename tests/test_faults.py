"""bench/faults.py, the fault-injection script, keeps working: it passes on a small collection,
and its checks find a repository that is not right."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "faults.py"


def faults(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT, timeout=1200
    )


@pytest.mark.slow
def test_a_small_run_kills_ota_and_finds_both_repositories_right(tmp_path: Path) -> None:
    """30 terms (3 rendered by Chromium) and 3 kills: every check passes, and then `--check` catches
    a record committed twice in a row and a file edited by hand in the working tree."""
    kept = tmp_path / "run"
    options = ("--terms", "30", "--kills", "3", "--browser-every", "10", "--seed", "7")
    result = faults(*options, "--keep", str(kept))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "kills: 3 (" in result.stdout
    assert "every check passed" in result.stdout
    assert faults("--check", str(kept)).returncode == 0

    env = {**os.environ, "GIT_COMMITTER_NAME": "Someone", "GIT_COMMITTER_EMAIL": "someone@example.org"}
    bot = "Open Terms Archive Bot <bot@opentermsarchive.org>"
    subject = "Record new changes of Service 0000 Terms of Service"
    versions = str(kept / "versions")
    commit = ["git", "-C", versions, "commit", "-q", "--allow-empty", f"--author={bot}", "-m", subject]
    subprocess.run(commit, check=True, env=env)
    snapshot = kept / "snapshots" / "Service 0000" / "Terms of Service.html"
    snapshot.write_bytes(snapshot.read_bytes() + b"<!-- edited -->")
    check = faults("--check", str(kept))
    assert check.returncode == 1, check.stdout + check.stderr
    assert f"({subject!r}) changes nothing, not one file" in check.stdout
    assert "git status --porcelain in snapshots is not empty" in check.stdout


@pytest.mark.slow
def test_a_disk_that_fills_up_is_reported_as_a_failure_and_recovers() -> None:
    """--full-disk: the snapshots on a 256 KiB tmpfs (100 terms fill it). The run exits 2, lists no
    version it did not write, the status file and `ota status --check` say it failed; with space
    freed the next run records everything and every archive check passes. Without the right to
    mount, the script says why in one line."""
    result = faults("--full-disk", "--terms", "100", "--disk-size", "256k")
    if result.stdout.startswith("full-disk scenario skipped: "):
        pytest.skip(result.stdout.strip())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "full disk: exit 2, " in result.stdout
    assert "status 'failed', ota status --check exit 1;" in result.stdout
    assert "No space left on device" in result.stdout
    assert "every check passed" in result.stdout
