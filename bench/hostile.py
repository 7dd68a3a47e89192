"""Measure what hostile pages cost `ota track`: memory at the peak and the time to the one-line failure.

Each scenario is a collection of one service with two terms, served from 127.0.0.1: a hostile one
and an ordinary one (which must be recorded). `ota track` runs in its own process; a thread samples
the resident memory of that process alone (the tracking process) and of its whole process tree
(extraction workers, the recorder, Playwright's driver and Chromium): the sum of RSS (which counts
the pages of shared files once per process), of anonymous RSS, and of PSS (each shared page
counted once in all: what the tree really holds).

- `gzip-bomb`: `Content-Encoding: gzip, gzip` around 1 GiB of zeros (a body of a few kB);
- `js-filter-buffers`: a JavaScript filter filling array buffers in a loop (outside V8's heap);
- `js-filter-objects`: a JavaScript filter filling JavaScript arrays in a loop (V8's heap).

Targets: under 300 MB for the tracking process, under 1.5 GB for the whole tree with Chromium.

    python bench/hostile.py [--scenario NAME ...] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.bombs import gzip_bomb

ORDINARY = b"<html><body><main><h1>Privacy</h1><p>We keep nothing.</p></main></body></html>"
TERMS = b"<html><body><main><h1>Terms</h1><p>Be kind.</p></main></body></html>"
ALLOCATING = {
    "buffers": "const kept = []; for (;;) { kept.push(new Uint8Array(1 << 24).fill(1)); await null; }",
    "objects": "const kept = []; for (;;) kept.push(new Array(1e6).fill(Math.random()));",
}


class Pages:
    """An HTTP server on 127.0.0.1 answering paths from a table: (body, headers)."""

    def __init__(self, table: dict[str, tuple[bytes, dict[str, str]]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body, headers = table.get(self.path, (b"not found", {}))
                self.send_response(200 if self.path in table else 404)
                for name, value in {"Content-Type": "text/html", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Memory:
    """Samples the RSS of a process, and the sums of RSS and anonymous RSS of its process tree."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.process = self.tree = self.tree_anonymous = self.tree_proportional = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _descendants(self) -> list[int]:
        found, pending = [self.pid], [self.pid]
        while pending:
            parent = pending.pop()
            try:
                tasks = os.listdir(f"/proc/{parent}/task")
            except OSError:
                continue
            for task in tasks:
                try:
                    with open(f"/proc/{parent}/task/{task}/children") as f:
                        children = [int(child) for child in f.read().split()]
                except OSError:
                    continue
                found.extend(children)
                pending.extend(children)
        return found

    @staticmethod
    def _proportional(pid: int) -> int:
        """PSS: each page shared by N processes counts 1/N in each (what the tree really holds)."""
        try:
            with open(f"/proc/{pid}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    @staticmethod
    def _status(pid: int) -> tuple[int, int]:
        rss = anonymous = 0
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1]) * 1024
                    elif line.startswith("RssAnon:"):
                        anonymous = int(line.split()[1]) * 1024
        except OSError:
            pass
        return rss, anonymous

    def _run(self) -> None:
        while not self._stop.is_set():
            total = anonymous = proportional = 0
            for pid in self._descendants():
                rss, anon = self._status(pid)
                total += rss
                anonymous += anon
                proportional += self._proportional(pid)
                if pid == self.pid:
                    self.process = max(self.process, rss)
            self.tree = max(self.tree, total)
            self.tree_anonymous = max(self.tree_anonymous, anonymous)
            self.tree_proportional = max(self.tree_proportional, proportional)
            self._stop.wait(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def collection(root: Path, origin: str, hostile: dict[str, Any], filters_js: str | None = None) -> None:
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    terms = {
        "Terms of Service": {"fetch": f"{origin}/hostile", "select": "main", **hostile},
        "Privacy Policy": {"fetch": f"{origin}/ordinary", "select": "main"},
    }
    (declarations / "Hostile.json").write_text(json.dumps({"name": "Hostile", "terms": terms}), "utf-8")
    if filters_js is not None:
        (declarations / "Hostile.filters.js").write_text(filters_js, "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 1\n", "utf-8")


def gzip_bomb_scenario(root: Path) -> Pages:
    bomb = gzip_bomb(1 << 30, layers=2)
    print(f"  gzip(gzip(1 GiB of zeros)): a body of {len(bomb):,} bytes")
    pages = Pages(
        {
            "/hostile": (bomb, {"Content-Encoding": "gzip, gzip"}),
            "/ordinary": (ORDINARY, {}),
        }
    )
    collection(root, pages.origin, {})
    return pages


def js_filter_scenario(allocation: str) -> Callable[[Path], Pages]:
    def scenario(root: Path) -> Pages:
        pages = Pages({"/hostile": (TERMS, {}), "/ordinary": (ORDINARY, {})})
        module = f"export async function allocate(document) {{ {ALLOCATING[allocation]} }}\n"
        collection(root, pages.origin, {"filter": ["allocate"]}, module)
        return pages

    return scenario


SCENARIOS: dict[str, Callable[[Path], Pages]] = {
    "gzip-bomb": gzip_bomb_scenario,
    "js-filter-buffers": js_filter_scenario("buffers"),
    "js-filter-objects": js_filter_scenario("objects"),
}


def run(name: str, root: Path) -> dict[str, Any]:
    pages = SCENARIOS[name](root)
    environment = {**os.environ, "OTA_ALLOW_PRIVATE_ADDRESSES": "1"}
    command = [sys.executable, "-m", "ota.cli", "track", "--config", str(root / "ota.toml"), "--no-progress"]
    command += ["--log-file", str(root / "ota.log")]
    try:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment
        )
        memory = Memory(process.pid)
        output, _ = process.communicate(timeout=600)
        seconds = time.perf_counter() - started
        memory.stop()
    finally:
        pages.close()
    failed = [line for line in output.splitlines() if line.startswith("failed:")]
    return {
        "seconds_from_start_to_failure_line": log_seconds(root / "ota.log"),
        "scenario": name,
        "exit_code": process.returncode,
        "seconds_to_failure": round(seconds, 1),
        "tracking_process_peak_rss_mb": round(memory.process / 2**20),
        "tree_peak_rss_mb": round(memory.tree / 2**20),
        "tree_peak_anonymous_rss_mb": round(memory.tree_anonymous / 2**20),
        "tree_peak_pss_mb": round(memory.tree_proportional / 2**20),
        "failure": failed[0] if failed else None,
        "ordinary_recorded": "1 first" in output or "1 new version" in output,
        "output": output,
    }


def log_seconds(log: Path) -> int | None:
    """Seconds (to the second: the log's resolution) from 'run started' to the first failure."""
    started = failed = None
    for line in log.read_text("utf-8").splitlines():
        stamp = line.split(" ", 1)[0]
        if "run started" in line and started is None:
            started = datetime.fromisoformat(stamp)
        elif " failed at " in line and failed is None:
            failed = datetime.fromisoformat(stamp)
    if started is None or failed is None:
        return None
    return round((failed - started).total_seconds())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: all")
    parser.add_argument("--keep", type=Path, help="keep the collections in this folder")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="ota-bench-hostile-")) if args.keep is None else args.keep
    worst = 0
    try:
        for name in args.scenario or list(SCENARIOS):
            print(f"{name}:")
            result = run(name, base / name)
            print(
                f"  exit {result['exit_code']} after {result['seconds_to_failure']} s (the whole run; "
                f"{result['seconds_from_start_to_failure_line']} s from its start to the failure); "
                f"peak RSS: tracking process {result['tracking_process_peak_rss_mb']} MB, whole tree "
                f"{result['tree_peak_pss_mb']} MB (PSS; sum of RSS {result['tree_peak_rss_mb']} MB, "
                f"of anonymous RSS {result['tree_peak_anonymous_rss_mb']} MB)"
            )
            print(f"  {result['failure'] or 'no failure line: ' + result['output']}")
            if result["failure"] is None or result["exit_code"] != 1:
                worst = 1
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return worst


if __name__ == "__main__":
    raise SystemExit(main())
