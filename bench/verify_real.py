"""How fast `ota verify` checks a real collection's repositories: versions per second, peak memory.

    .venv/bin/python bench/verify_real.py --declarations D/declarations --snapshots S --versions V \
        [--workers N] [-s SERVICE_ID…] [--profile FILE] [--json FILE]

Runs `verify_archive` on repositories as they are (e.g. Open Terms Archive's genai-eu or demo
collections cloned from GitHub; they are only read), on every core, and prints the summary
`ota verify` prints, the versions checked per second, the CPU time, and the peak memory (RSS) of
the verifying process and of its largest child process (extraction or git). `--profile FILE`
writes a cProfile of the verifying process (the extraction processes are not in it: run with
`--workers 0` to profile extraction in-process).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import resource
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from verify import cpu_seconds, peak_rss_mb  # bench/verify.py, beside this file

from ota.settings import Settings
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
    settings = replace(
        Settings(),
        declarations=options.declarations,
        snapshots=options.snapshots,
        versions=options.versions,
        extract_workers=options.workers,
    )
    selection = Selection(services=frozenset(options.service))
    # CPU time, not wall time: on a loaded machine, waiting would hide what costs.
    profiler = cProfile.Profile(time.process_time) if options.profile else None
    cpu_before = cpu_seconds()
    started = time.monotonic()
    if profiler is not None:
        profiler.enable()
    report = asyncio.run(verify_archive(settings, selection=selection))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(options.profile)
    elapsed = time.monotonic() - started
    cpu = cpu_seconds() - cpu_before
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
    print(
        f"peak memory (RSS): verifying process {peak_rss_mb(resource.RUSAGE_SELF):.0f} MB, largest child "
        f"process (extraction or git) {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )


if __name__ == "__main__":
    main()
