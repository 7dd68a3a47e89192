"""Micro-benchmark of ota's HTTP client: CPU per fetch against a local server with no latency.

    .venv/bin/python bench/fetch.py [--fetches 1000] [--hosts 20] [--repeat 7]

Serves generated pages from 127.0.0.1 (bench/track.py's server, in its own process), fetches
them all with one `Fetcher` (per-host limit 2, 64 in flight), and prints the CPU seconds of this
process per fetch, best of the repeats: the cost the tracking process pays for each page.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from track import free_ports, serving  # bench/track.py, beside this file

from ota.fetch import Fetcher, FetchSettings


async def measure(urls: list[str], repeat: int) -> float:
    best = float("inf")
    settings = FetchSettings(per_host=2, concurrency=64, allow_private_addresses=True)  # pages on 127.0.0.1
    async with Fetcher(settings) as fetcher:
        await asyncio.gather(*(fetcher.fetch(url) for url in urls[:100]))  # connections, caches
        for _ in range(repeat):
            before = resource.getrusage(resource.RUSAGE_SELF)
            await asyncio.gather(*(fetcher.fetch(url) for url in urls))
            after = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            best = min(best, cpu)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fetches", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    ports = free_ports(args.hosts)
    with serving(ports):
        urls = [f"http://127.0.0.1:{ports[i % args.hosts]}/p/{i}" for i in range(args.fetches)]
        best = asyncio.run(measure(urls, args.repeat))
    print(
        f"{args.fetches} fetches from {args.hosts} hosts: best CPU {best:.2f} s "
        f"= {best / args.fetches * 1e3:.3f} ms per fetch (of {args.repeat})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
