"""Peak memory of `ota serve` answering a terms' whole history as a ZIP.

Generates one terms of VERSIONS versions of 50 KB (bench/serve.py's generator), starts the real
server, waits for its first answer, and downloads `/services/SERVICE/TYPE/history.zip`; prints the
server's resident memory before the download and its peak (VmHWM) after, with the ZIP's size and
the time it took. `--code DIR` runs the server from another checkout (to compare with the code
before a change: `git archive COMMIT ota | tar -x -C DIR`).

    .venv/bin/python bench/history_zip.py --versions 3000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve import generate, memory_mb, wait_for_server  # bench/serve.py, beside this file


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", type=int, default=3000)
    parser.add_argument("--code", default=None, help="the folder holding the `ota` package to serve with")
    parser.add_argument("--dir", default=None, help="where to generate (reused when it exists)")
    args = parser.parse_args()
    root = Path(args.dir or tempfile.mkdtemp(prefix="ota-history-zip-"))
    if not (root / "versions").exists():
        root.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        [path] = generate(root, terms=1, versions=args.versions)
        print(
            f"generated {args.versions} versions of {path} in {time.perf_counter() - started:.1f} s ({root})"
        )
    env = {**os.environ, "OTA_CONFIG": ""}
    if args.code:
        env["PYTHONPATH"] = str(Path(args.code).resolve())
    port = 39000 + os.getpid() % 1000
    command = [sys.executable, "-m", "ota.cli", "serve", "--port", str(port),
               "--declarations", str(root / "declarations"), "--versions", str(root / "versions"),
               "--snapshots", str(root / "snapshots")]  # fmt: skip
    server = subprocess.Popen(command, env=env, cwd=root, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
            wait_for_server(client, server)
            time.sleep(2)  # let start-up settle (the counts are computed in other processes)
            now, peak = memory_mb(server.pid)
            print(f"server before the download: {now:.0f} MB resident, {peak:.0f} MB at peak")
            started = time.perf_counter()
            target = root / "history.zip"
            with client.stream(
                "GET", f"/services/{quote('Service 0000')}/{quote('Terms of Service')}/history.zip"
            ) as answer:
                answer.raise_for_status()
                with target.open("wb") as file:
                    for chunk in answer.iter_bytes():
                        file.write(chunk)
            seconds = time.perf_counter() - started
            with zipfile.ZipFile(target) as archive:
                files = len(archive.namelist())
            now, peak = memory_mb(server.pid)
            print(
                f"history.zip: {target.stat().st_size / 2**20:.1f} MB, {files} files, in {seconds:.1f} s; "
                f"server after: {now:.0f} MB resident, {peak:.0f} MB at peak"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
