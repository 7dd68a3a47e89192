"""The full-disk scenario of bench/faults.py (`--full-disk`): the snapshots repository on a tmpfs
too small for the collection.

    .venv/bin/python bench/faults.py --full-disk [--terms 300] [--disk-size 1m]

The script mounts the tmpfs itself (root only; without the right to mount, it says why in one
line and skips, exit 0). A first `ota track` fills the disk: it must exit 2, its summary must list
no version that is not on the versions branch (and count exactly what it lists), the status file
must say the run failed, `ota status --check` must exit 1 saying so, and `git fsck --strict` must
be clean in both repositories. The tmpfs is then enlarged (space freed) and a second run must exit
0, after which every check of bench/faults_checks.check_archive runs and `ota status --check` must
exit 0.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import subprocess
import sys
from pathlib import Path

import faults  # bench/faults.py, beside this file
from faults_checks import Checks, check_archive
from track import free_ports

#: The summary's line for each version it says it recorded, with the commit's short id.
_RECORDED = re.compile(r"^(?:first record|changed|technical upgrade): .* \(([0-9a-f]{12})\)$", re.M)
_COUNTS = re.compile(r"^\d+ terms tracked in [\d.]+ s: \d+ new snapshots, (\d+) new versions", re.M)


def _run(command: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=root,
        env=faults.ota_environment(),
        capture_output=True,
        text=True,
        timeout=faults.RUN_TIMEOUT,
    )


def _ota(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "ota.cli", *args, "--config", str(root / "ota.toml")], root)


def _mount(folder: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` on `folder`; why it could not be, or None."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
    except OSError as error:
        return f"mount cannot run: {error}"
    return (
        None if mounted.returncode == 0 else (mounted.stderr.strip() or f"mount exited {mounted.returncode}")
    )


def _on_branch(repo: Path, short_id: str) -> bool:
    found = subprocess.run(
        ["git", "-C", str(repo), "merge-base", "--is-ancestor", short_id, "HEAD"], capture_output=True
    )
    return found.returncode == 0


def _fsck(repo: Path) -> str | None:
    checked = subprocess.run(["git", "-C", str(repo), "fsck", "--strict"], capture_output=True, text=True)
    return None if checked.returncode == 0 else f"git fsck --strict in {repo.name}: {checked.stderr.strip()}"


def full_disk(root: Path, args: argparse.Namespace) -> int:
    """Run the scenario in `root` (the module's docstring); print every check; 0 when all passed."""
    ports = free_ports(args.hosts)
    documents = faults.write_collection(root, args.terms, ports)
    site = faults.Site(root / "site", documents)
    disk = root / "snapshots"
    why = _mount(disk, args.disk_size)
    if why is not None:
        print(f"full-disk scenario skipped: cannot mount a {args.disk_size} tmpfs on {disk}: {why}")
        return 0
    served = multiprocessing.Value("q", 0)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=faults.serve,
        args=(str(site.folder), ports, args.latency, served, ready, args.max_seconds),
        daemon=True,
    )
    server.start()
    check = Checks()
    problems = check.problems  # the same list: the archive's problems are added to it

    try:
        if not ready.wait(30):
            print("the page server did not start", file=sys.stderr)
            return 2
        print(
            f"{args.terms} terms ({len(documents)} pages), snapshots on a {args.disk_size} tmpfs", flush=True
        )
        first = _ota(root, "track", "--no-progress")
        summary = first.stdout
        check(
            first.returncode == 2,
            f"the run on a full disk exited {first.returncode}, not 2: {first.stderr[-800:]}",
        )
        listed = _RECORDED.findall(summary)
        counted = _COUNTS.search(summary)
        check(
            counted is not None and int(counted.group(1)) == len(listed),
            f"counts differ from the list: {summary[:300]}",
        )
        missing = [short for short in listed if not _on_branch(root / "versions", short)]
        check(
            not missing,
            f"the summary lists {len(missing)} versions that are not on the branch: {missing[:5]}",
        )
        status = json.loads((root / ".ota" / "status.json").read_text("utf-8"))
        check(
            status["last_run"]["outcome"] == "failed",
            f"the status file says {status['last_run']['outcome']!r}",
        )
        health = _ota(root, "status", "--check")
        check(
            health.returncode == 1 and "unhealthy: the last run failed: " in health.stderr,
            f"ota status --check exited {health.returncode}: {health.stderr.strip()[:300]}",
        )
        for repo in (disk, root / "versions"):
            problem = _fsck(repo)
            check(problem is None, problem or "")
        error_lines = [line for line in first.stderr.splitlines() if line.startswith("ota: ")]
        print(
            f"full disk: exit {first.returncode}, {len(listed)} versions listed (all on the branch: "
            f"{not missing}), status {status['last_run']['outcome']!r}, ota status --check exit "
            f"{health.returncode}; {error_lines[-1] if error_lines else 'no error line'}",
            flush=True,
        )
        subprocess.run(["mount", "-o", "remount,size=1g", str(disk)], check=True)  # space freed
        second = _ota(root, "track", "--no-progress")
        check(
            second.returncode == 0,
            f"the run after space was freed exited {second.returncode}: {second.stderr[-800:]}",
        )
        health = _ota(root, "status", "--check")
        check(
            health.returncode == 0,
            f"ota status --check after recovery exited {health.returncode}: {health.stderr}",
        )
        print(
            f"space freed: exit {second.returncode}; {second.stdout.splitlines()[0] if second.stdout else ''}"
        )
        site.save(root / "served.json")
        archive_problems, figures = check_archive(root, faults.render)
        problems += archive_problems
        check.count += figures.get("checks", 0)
    finally:
        server.terminate()
        server.join(5)
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    for problem in problems:
        print(f"  - {problem}")
    print(f"{check.count} checks: " + ("every check passed" if not problems else "FAILED"))
    return 1 if problems else 0
