"""A `metadata.yml` alias bomb against every command that reads it: time to the one-line failure
(or the answer) and peak memory.

    .venv/bin/python bench/alias_bomb.py [--levels 10]

The bomb is Open Terms Archive's metadata file gone wrong: ten anchors, each a list of ten aliases
of the previous one (545 bytes, 10^10 values once expanded). A collection with one declaration, one
recorded version and that file; then `ota validate --schema-only` and `ota dataset` (each must fail
in one line naming the file), and `ota serve` (its metadata, services and home page must answer).
Each line gives the seconds until the command ended or answered, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ota.store.repository import Repository

#: A command that has not failed or answered after this long is reported as hanging, and stopped.
TIMEOUT = 120.0


def bomb(levels: int) -> str:
    """Ten anchors (`levels`), each a list of ten aliases of the previous one."""
    lines = ["name: Bomb", "a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]"]
    lines += [f"a{n}: &a{n} [{','.join([f'*a{n - 1}'] * 10)}]" for n in range(1, levels)]
    return "\n".join(lines) + "\n"


def collection(root: Path, levels: int) -> None:
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    terms = {"Terms of Service": {"fetch": "https://example.com/terms", "select": "main"}}
    (declarations / "Example.json").write_text(json.dumps({"name": "Example", "terms": terms}), "utf-8")
    (root / "metadata.yml").write_text(bomb(levels), "utf-8")
    (root / "ota.toml").write_text("", "utf-8")
    with Repository.open(root / "versions") as versions:
        message = "First record of Example Terms of Service\n\nThis version was recorded by ota."
        versions.commit(
            "Example/Terms of Service.md", b"# Terms\n\nRules.\n", message=message, date=datetime.now(UTC)
        )


def command(root: Path, *args: str) -> tuple[float, int, int, str]:
    """Run `ota ARGS`; seconds, exit code, peak RSS (KiB, from wait4) and what it printed."""
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as errors:
        process = subprocess.Popen(
            [sys.executable, "-m", "ota.cli", *args, "--config", str(root / "ota.toml")],
            cwd=root,
            stdout=errors,
            stderr=subprocess.STDOUT,
        )
        timer = threading.Timer(TIMEOUT, process.kill)  # a hang is stopped, and said
        timer.start()
        _, status, usage = os.wait4(process.pid, 0)
        timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read().strip()
    if process.returncode == -9:
        stderr = f"still running after {TIMEOUT:.0f} s: killed"
    return time.monotonic() - started, process.returncode, usage.ru_maxrss, stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(root: Path) -> str:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ota.cli", "serve", "--config", str(root / "ota.toml"), "--port", str(port)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    answers = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=TIMEOUT) as client:
            while True:
                try:
                    client.get("/api/v1/services")
                    break
                except httpx.ConnectError:
                    if time.monotonic() - started > TIMEOUT:
                        return f"ota serve: no answer after {TIMEOUT:.0f} s"
                    time.sleep(0.05)
            for path in ("/api/v1/metadata", "/api/v1/services", "/"):
                asked = time.monotonic()
                try:
                    status = client.get(path).status_code
                except httpx.TimeoutException:
                    status = 0
                answers.append(f"{path} {status or 'no answer'} in {time.monotonic() - asked:.3f} s")
        peak = next(
            line.split()[1]
            for line in Path(f"/proc/{process.pid}/status").read_text().splitlines()
            if line.startswith("VmHWM:")
        )
    finally:
        process.terminate()
        try:
            _, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            _, stderr = process.communicate()
    said = next((line for line in stderr.splitlines() if "metadata.yml" in line), "-")
    return f"ota serve: {', '.join(answers)}; peak RSS {int(peak) / 1024:.0f} MB; log: {said}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, default=10)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ota-alias-bomb-"))
    try:
        collection(root, args.levels)
        size = (root / "metadata.yml").stat().st_size
        print(f"metadata.yml: {size} bytes, {args.levels} levels of ten aliases (10^{args.levels} values)")
        for name, arguments in (
            ("ota validate --schema-only", ("validate", "--schema-only")),
            ("ota dataset", ("dataset", "--output", str(root / "dataset.zip"))),
        ):
            seconds, code, peak, stderr = command(root, *arguments)
            last = next((line for line in stderr.splitlines() if "metadata.yml" in line), stderr[-300:])
            print(f"{name}: exit {code} in {seconds:.2f} s, peak RSS {peak / 1024:.0f} MB: {last}")
        print(serve(root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
