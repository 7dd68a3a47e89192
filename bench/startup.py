"""Measure ota's start-up: `ota --version`, `ota status`, and `ota track` with nothing to do.

Serves a collection of 10 terms (by default) from 127.0.0.1 with bench/track.py's server, tracks it
once, then measures the unchanged run: wall time and CPU time (user + system of ota and every
process it waited for), the median of 5 runs each, beside `ota --version` and `ota status`. With
--importtime it also prints the 15 slowest imports of the unchanged run (`python -X importtime`).

    .venv/bin/python bench/startup.py [--terms 10] [--runs 5] [--importtime]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from track import free_ports, serving, write_collection

# `ota ARGS…`, which writes its own process's CPU seconds (user + system) to the file named by
# OTA_BENCH_CPU as it exits.
OTA = """
import atexit, os, resource, sys
def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(os.environ["OTA_BENCH_CPU"], "w") as out:
        out.write(str(usage.ru_utime + usage.ru_stime))
atexit.register(own_cpu)
sys.argv[0] = "ota"
from ota.cli import app
app()
"""
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def timed(arguments: list[str], cwd: Path) -> tuple[float, float, float, subprocess.CompletedProcess[str]]:
    """Run `ota ARGUMENTS…`: its wall time, its own CPU time, its tree's CPU time, and its result."""
    cpu_file = cwd / ".bench-cpu"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", OTA, *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**ENVIRONMENT, "OTA_BENCH_CPU": str(cpu_file)},
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, float(cpu_file.read_text()), tree, result


def median_of(
    runs: int, arguments: list[str], cwd: Path, codes: tuple[int, ...] = (0,)
) -> tuple[float, float, float]:
    """The median wall, own CPU and tree CPU times of `runs` runs of `ota ARGUMENTS…`, which must
    exit with one of `codes`."""
    figures = []
    for _ in range(runs):
        *times, result = timed(arguments, cwd)
        if result.returncode not in codes:
            raise SystemExit(f"ota {' '.join(arguments)} exited {result.returncode}: {result.stderr.strip()}")
        figures.append(times)
    return tuple(statistics.median(column) for column in zip(*figures, strict=True))  # type: ignore[return-value]


def slowest_imports(arguments: list[str], cwd: Path, count: int) -> list[tuple[int, str]]:
    """The `count` imports with the largest cumulative time (µs) of `ota ARGUMENTS…`."""
    command = [sys.executable, "-X", "importtime", "-c", OTA, *arguments]
    environment = {**ENVIRONMENT, "OTA_BENCH_CPU": str(cwd / ".bench-cpu")}
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=environment)
    rows = []
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "cumulative" not in line:
            _, cumulative, name = line.split("|")
            rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--importtime", action="store_true", help="list the slowest imports of `ota track`")
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="ota-startup-"))
    ports = free_ports(1)
    try:
        with serving(ports):
            run(args, root, ports)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


def run(args: argparse.Namespace, root: Path, ports: list[int]) -> None:
    """Track the collection once, then measure and print."""
    write_collection(root, args.terms, ports)
    (root / "ota.toml").write_text("[fetch]\nallow_private_addresses = true\n", "utf-8")
    track = ["track", "--config", str(root / "ota.toml"), "--no-progress"]
    *_, first = timed(track, root)
    if first.returncode != 0:
        raise SystemExit(f"the first run failed ({first.returncode}): {first.stdout}{first.stderr}")
    load = os.getloadavg()[0]
    figures = {
        "ota --version": median_of(args.runs, ["--version"], root),
        "ota status": median_of(args.runs, ["status", "--config", str(root / "ota.toml")], root),
        f"ota track ({args.terms} terms, unchanged)": median_of(args.runs, track, root),
    }
    after = os.getloadavg()[0]
    print(f"median of {args.runs} runs each; load average {load:.2f} before, {after:.2f} after")
    for label, (wall, own, tree) in figures.items():
        print(f"{label:>32}: wall {wall:.3f} s  CPU {own:.3f} s (with its children {tree:.3f} s)")
    if args.importtime:
        print("slowest imports of the unchanged run (cumulative):")
        for microseconds, name in slowest_imports(track, root, 15):
            print(f"  {microseconds / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    sys.exit(main())
