"""How fast `ota verify` checks a real collection's repositories: versions per second, peak memory.

    .venv/bin/python bench/verify_real.py --declarations D/declarations --snapshots S --versions V \
        [--workers N] [-s SERVICE_ID…] [--profile FILE] [--json FILE]

Runs `verify_archive` on repositories as they are (e.g. Open Terms Archive's genai-eu or demo
collections cloned from GitHub; they are only read), on every core, and prints the summary
`ota verify` prints, the versions checked per second, the CPU time, and the peak memory (RSS) of
the verifying process and of its largest child process (extraction or git). `--profile FILE`
writes a cProfile of the verifying process (the extraction processes are not in it: run with
`--workers 0` to profile extraction in-process).

The CPU of processes that ended and were waited for (`getrusage`) misses most of Chromium's (its
renderers are not waited for by this process's children): on Linux, the whole process tree is
also watched through /proc every half second, and its CPU is printed by kind of process (what a
process did in its last half second before ending is missed), with the peak memory of the tree
and of Chromium's processes (PSS: each shared page counted once).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import re
import resource
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verify import cpu_seconds, peak_rss_mb  # bench/verify.py, beside this file

from ota.settings import CollectionSettings, Settings, TrackSettings
from ota.verify import Selection, verify_archive


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--declarations", type=Path, required=True, help="the SERVICE_ID.json folder")
    parser.add_argument("--snapshots", type=Path, required=True)
    parser.add_argument("--versions", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="extraction processes")
    parser.add_argument("-s", "--service", action="append", default=[], help="check only this service")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the verifying process here")
    parser.add_argument("--json", type=Path, help="write every finding here, as `ota verify --json`")
    parser.add_argument("--findings", type=int, default=20, help="finding lines to print")
    options = parser.parse_args()
    settings = Settings(
        collection=CollectionSettings(
            declarations=options.declarations, snapshots=options.snapshots, versions=options.versions
        ),
        track=TrackSettings(extract_workers=options.workers),
    )
    selection = Selection(services=frozenset(options.service))
    # CPU time, not wall time: on a loaded machine, waiting would hide what costs.
    profiler = cProfile.Profile(time.process_time) if options.profile else None
    cpu_before = cpu_seconds()
    tree = TreeWatch()
    started = time.monotonic()
    if profiler is not None:
        profiler.enable()
    report = asyncio.run(verify_archive(settings, selection=selection))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(options.profile)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds() - cpu_before
    by_kind = tree.stop()
    counts = report.counts
    for line in report.summary_lines(limit=options.findings):
        print(line)
    if options.json:
        report.write_json(options.json)
    versions = max(1, counts["versions"])
    print(
        f"verified {counts['versions']} versions in {elapsed:.1f} s with {options.workers} extraction "
        f"processes: {counts['versions'] / elapsed:.1f} versions/s; reproduced + explained "
        f"{(counts['reproduced'] + counts['explained']) / versions:.1%}, unexplained "
        f"{counts['unexplained'] / versions:.1%}"
    )
    print(
        f"CPU: {cpu:.1f} s in all ({cpu / versions * 1000:.1f} ms per version); load average now "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if by_kind:
        kinds = ", ".join(f"{kind} {seconds:.1f}" for kind, seconds in by_kind.items())
        print(f"CPU of the whole process tree (/proc): {sum(by_kind.values()):.1f} s: {kinds}")
        print(
            f"peak memory of the whole process tree (PSS, /proc): {tree.peak_pss_mb:.0f} MB, "
            f"Chromium's processes {tree.peak_chromium_pss_mb:.0f} MB"
        )
    print(
        f"peak memory (RSS): verifying process {peak_rss_mb(resource.RUSAGE_SELF):.0f} MB, largest child "
        f"process (extraction or git) {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )


class TreeWatch:
    """CPU seconds of this process and its descendants, by kind, read from /proc twice a second."""

    def __init__(self, every: float = 0.5) -> None:
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        self._last: dict[int, tuple[str, float]] = {}  # pid → (kind, CPU seconds when last seen)
        self.peak_pss_mb = 0.0  # the tree's memory at its peak, each shared page counted once
        self.peak_chromium_pss_mb = 0.0
        self._before = self._read()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(every,), daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Seconds by kind since the watch started, largest first (empty where /proc is missing)."""
        self._stopped.set()
        self._thread.join()
        self._read()
        totals: dict[str, float] = defaultdict(float)
        for pid, (kind, seconds) in self._last.items():
            totals[kind] += seconds - self._before.get(pid, (kind, 0.0))[1]
        return dict(sorted(totals.items(), key=lambda item: -item[1]))

    def _watch(self, every: float) -> None:
        while not self._stopped.wait(every):
            self._read()

    def _read(self) -> dict[int, tuple[str, float]]:
        parents: dict[int, int] = {}
        times: dict[int, float] = {}
        try:
            names = os.listdir("/proc")
        except OSError:
            return {}
        for name in names:
            if not name.isdigit():
                continue
            try:
                fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(name)] = int(fields[1])
            times[int(name)] = (int(fields[11]) + int(fields[12])) / self._tick
        tree, grown = {os.getpid()}, True
        while grown:
            grown = False
            for pid, parent in parents.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    grown = True
        total = chromium = 0.0
        for pid in tree:
            if pid in times:
                kind = _kind(pid) or (self._last[pid][0] if pid in self._last else "other")
                self._last[pid] = (kind, times[pid])  # a forked process names itself later
                pss = _pss_mb(pid)
                total += pss
                chromium += pss if kind.startswith("Chromium") else 0.0
        self.peak_pss_mb = max(self.peak_pss_mb, total)
        self.peak_chromium_pss_mb = max(self.peak_chromium_pss_mb, chromium)
        return dict(self._last)


def _pss_mb(pid: int) -> float:
    """The proportional set size of a process, in MB (0 when it cannot be read)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def _kind(pid: int) -> str | None:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not command:  # ending
        return None
    if pid == os.getpid():
        return "verifying process"
    process_type = re.search(rb"--type=([a-z-]+)", command)
    if process_type:
        return f"Chromium {process_type.group(1).decode()}"
    if b"chrom" in command:
        return "Chromium browser"
    if b"playwright" in command or b"node" in command:
        return "Playwright driver"
    if b"python" in command:
        return "extraction"
    if b"git" in command:
        return "git"
    return "other"


if __name__ == "__main__":
    main()
