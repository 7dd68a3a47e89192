"""Measure `ota track` on a generated collection served from 127.0.0.1.

Starts an HTTP server (its own process) serving N generated terms pages across H hosts (one port
each) with a fixed latency per response, writes a collection of N terms for them, then runs
`ota track` three times from empty repositories: first run, again with nothing changed, again
after 10% of the pages changed. For each run it prints wall time, terms per second, commits
written, CPU seconds (user + system, ota and its workers), peak memory (RSS of the whole
process tree: ota, its extraction workers, git), when the first page was asked for, and how long
ota ran after its last page was served (start-up and ending, beside the network bound).
The server stops by itself at the end (and after --max-seconds whatever happens).

    python bench/track.py --terms 1000 --hosts 20 --latency 0.1 [--json FILE] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

WORDS = (
    "service user content account data policy terms agree provide information rights use may "
    "shall law third party personal access platform community rules report remove safety"
).split()


def page(index: int, generation: int, paragraphs: int) -> bytes:
    """A terms page of about `paragraphs` × 400 bytes; its text depends on the generation."""
    body = []
    for p in range(paragraphs):
        words = " ".join(WORDS[(index * 7 + p * 3 + k) % len(WORDS)] for k in range(60))
        body.append(f"<p>{p + 1}. {words.capitalize()}.</p>")
    return (
        "<!doctype html><html><head><title>Terms</title><script>var t=1;</script></head><body>"
        f"<nav><a href='/'>Home</a></nav><main><h1>Terms of Service {index}</h1>"
        f"<p>Version {generation}. Last updated: 2026-01-{1 + generation % 28:02d}.</p>"
        + "".join(body)
        + "<ul><li>One</li><li>Two <a href='/privacy'>privacy</a></li></ul></main><footer>Footer</footer>"
        "</body></html>"
    ).encode()


def serve(
    ports: list[int],
    latency: float,
    paragraphs: int,
    ready: multiprocessing.Event,
    max_seconds: float,
    seen: Any = None,
) -> None:
    """The server process: one asyncio server per port; GET /p/I, and /_change?every=K bumps pages.
    `seen`, a shared array of two doubles, gets the time of the first and of the last request of
    a page (time.time(); the caller sets both to 0 before a run)."""
    changes: list[int] = []  # each /_change?every=K changes every K-th page once more
    pages: dict[tuple[int, int], bytes] = {}  # built once: the server must not steal ota's CPU

    def generation(index: int) -> int:
        return sum(1 for every in changes if index % every == 0)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                target = request.split(b" ", 2)[1].decode()
                if seen is not None and not target.startswith("/_change"):
                    arrived = time.time()
                    seen[0] = seen[0] or arrived
                    seen[1] = arrived
                await asyncio.sleep(latency)
                if target.startswith("/_change"):
                    changes.append(int(target.split("every=")[1]))
                    body = b"ok"
                else:
                    index = int(target.rsplit("/", 1)[1])
                    key = (index, generation(index))
                    body = pages.get(key) or pages.setdefault(key, page(*key, paragraphs))
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body) + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    run_servers(handle, ports, ready, max_seconds)


def run_servers(handle: Any, ports: list[int], ready: Any, max_seconds: float) -> None:
    """Serve `handle` (an asyncio connection handler) on each port of 127.0.0.1; set `ready` once
    listening; stop after `max_seconds`, whatever happens to the parent."""

    async def main() -> None:
        servers = [await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024) for port in ports]
        ready.set()
        await asyncio.sleep(max_seconds)
        for server in servers:
            server.close()

    asyncio.run(main())


@contextlib.contextmanager
def serving(
    ports: list[int], latency: float = 0.0, paragraphs: int = 30, max_seconds: float = 600
) -> Iterator[None]:
    """`serve` in a process of its own while the block runs (ready when it starts), then stopped."""
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve, args=(ports, latency, paragraphs, ready, max_seconds), daemon=True
    )
    server.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the benchmark server did not start")
        yield
    finally:
        server.terminate()
        server.join(5)
        if server.is_alive():
            os.kill(server.pid, signal.SIGKILL)


def free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def write_collection(root: Path, terms: int, ports: list[int]) -> None:
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    for index in range(terms):
        port = ports[index % len(ports)]
        declaration = {
            "name": f"Service {index}",
            "terms": {
                "Terms of Service": {
                    "fetch": f"http://127.0.0.1:{port}/p/{index}",
                    "select": "main",
                    "remove": "nav",
                }
            },
        }
        (declarations / f"Service {index:05d}.json").write_text(json.dumps(declaration), "utf-8")


class TreeMemory:
    """Samples the RSS of a process and all its descendants; keeps the peak of their sum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.peak_anon = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                except (OSError, ValueError, IndexError):
                    continue
                children.setdefault(ppid, []).append(int(entry))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return tree

    def _run(self) -> None:
        pids: list[int] = []
        scanned = 0.0
        while not self._stop.is_set():
            if time.monotonic() - scanned > 0.5:  # a scan reads every process's stat: not 20 times a second
                pids, scanned = self._tree(), time.monotonic()
            total = anon = 0
            for pid in pids:
                try:
                    with open(f"/proc/{pid}/status") as f:
                        for line in f:
                            if line.startswith("VmRSS:"):
                                total += int(line.split()[1]) * 1024
                            elif line.startswith("RssAnon:"):
                                anon += int(line.split()[1]) * 1024
                except OSError:
                    pass
            self.peak = max(self.peak, total)
            self.peak_anon = max(self.peak_anon, anon)
            self._stop.wait(0.05)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def commits(repo: Path) -> int:
    result = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--count", "HEAD"], capture_output=True, text=True
    )
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


def run_track(root: Path, args: argparse.Namespace, label: str, profile: Path | None) -> dict:
    before = commits(root / "snapshots") + commits(root / "versions")
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    command += ["-m", "ota.cli", "track", "--config", str(root / "ota.toml"), "--no-progress"]
    command += ["--per-host", str(args.per_host), "--concurrency", str(args.concurrency)]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    args.seen[0] = args.seen[1] = 0.0
    launched = time.time()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    memory = TreeMemory(process.pid)
    out, err = process.communicate()
    wall = time.perf_counter() - started
    ended = launched + wall
    first_request, last_request = args.seen[0] - launched, args.seen[1] - launched
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)  # ota and the workers it waited for
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    peak = memory.stop()
    peak_anon = memory.peak_anon
    if process.returncode not in (0, 1):
        print(out, err, file=sys.stderr)
        raise SystemExit(f"ota track failed ({process.returncode})")
    written = commits(root / "snapshots") + commits(root / "versions") - before
    summary = out.splitlines()[0] if out else ""
    failures = [line for line in out.splitlines() if line.startswith("failed:")]
    if failures:  # figures of runs that failed measure nothing
        raise SystemExit(f"{len(failures)} terms failed, the first: {failures[0]}")
    failed = 0
    return {
        "run": label,
        "wall_seconds": round(wall, 3),
        "terms_per_second": round(args.terms / wall, 1),
        "cpu_seconds": round(cpu, 2),
        # When the first page was asked for, and how long ota ran after its last page was served.
        "first_request_seconds": round(first_request, 3),
        "after_last_response_seconds": round(ended - launched - last_request - args.latency, 3),
        "commits": written,
        "peak_rss_mb": round(peak / 2**20, 1),
        "peak_anonymous_rss_mb": round(peak_anon / 2**20, 1),
        "failed": failed,
        "summary": summary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per response")
    parser.add_argument("--paragraphs", type=int, default=30, help="size of each page (~400 bytes each)")
    parser.add_argument("--per-host", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--keep", type=Path, help="keep the collection and repositories in this folder")
    parser.add_argument("--profile", type=Path, help="cProfile each run's main process into this folder")
    parser.add_argument("--max-seconds", type=float, default=1800, help="the server stops after this")
    args = parser.parse_args(argv)

    root = args.keep or Path(tempfile.mkdtemp(prefix="ota-bench-"))
    if args.keep and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    ports = free_ports(args.hosts)
    ready = multiprocessing.Event()
    seen = multiprocessing.Array("d", 2, lock=False)
    server = multiprocessing.Process(
        target=serve, args=(ports, args.latency, args.paragraphs, ready, args.max_seconds, seen), daemon=True
    )
    server.start()
    args.seen = seen
    results = []
    try:
        if not ready.wait(30):
            raise SystemExit("the benchmark server did not start")
        write_collection(root, args.terms, ports)
        # The pages are served from 127.0.0.1, which ota's address guard refuses unless allowed.
        (root / "ota.toml").write_text("[fetch]\nallow_private_addresses = true\n", "utf-8")
        bound = args.terms * args.latency / (args.hosts * args.per_host)
        print(
            f"{args.terms} terms on {args.hosts} hosts, {args.latency * 1000:.0f} ms per response, "
            f"per-host limit {args.per_host}: network bound {bound:.2f} s per run"
        )
        profiles = args.profile
        if profiles:
            profiles.mkdir(parents=True, exist_ok=True)
        results.append(run_track(root, args, "first run", profiles and profiles / "first.prof"))
        results.append(run_track(root, args, "nothing changed", profiles and profiles / "unchanged.prof"))
        import urllib.request

        urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/_change?every=10", timeout=30).read()
        results.append(run_track(root, args, "10% changed", profiles and profiles / "changed.prof"))
    finally:
        server.terminate()
        server.join(5)
        if server.is_alive():
            os.kill(server.pid, signal.SIGKILL)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    for r in results:
        print(
            f"{r['run']:>16}: {r['wall_seconds']:7.2f} s  {r['terms_per_second']:7.1f} terms/s  "
            f"CPU {r['cpu_seconds']:6.2f} s  "
            f"{r['commits']:5d} commits  peak RSS {r['peak_rss_mb']:6.1f} MB "
            f"(anonymous {r['peak_anonymous_rss_mb']:6.1f} MB)  {r['failed']} failed"
        )
        print(
            f"{'':>16}  first request after {r['first_request_seconds']:.2f} s; ota ended "
            f"{r['after_last_response_seconds']:.2f} s after the last page was served"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"terms": args.terms, "hosts": args.hosts, "latency": args.latency, "runs": results}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
