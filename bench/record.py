"""Micro-benchmark of ota's git layer: commits per second and the cost of `latest()`.

    .venv/bin/python bench/record.py [--paths 1000] [--rounds 2] [--history 20000] [--dir /dev/shm]

1. 2,000 commits (1,000 paths × 2 rounds, ~20 KB each) into a new repository, close included;
2. `latest()` on a repository with 20,000 commits, compared with `git log -1 -- path`;
3. the one-time `git log` walk that builds the path index of an existing repository.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ota.store.repository import Repository

SIZE = 20_000
START = datetime(2024, 1, 1, tzinfo=UTC)


_VOCABULARY = [
    f"{syllable}{suffix}"
    for syllable in (
        "term",
        "serv",
        "user",
        "data",
        "priv",
        "cont",
        "lic",
        "agre",
        "acc",
        "law",
        "right",
        "part",
        "use",
        "info",
        "notic",
    )
    for suffix in ("", "s", "ed", "ing", "ice", "ent", "ation", "al", "ity", "ies", "ment", "or", "er", "ive")
]


def page(rng: random.Random, path: str, round_: int) -> bytes:
    """About SIZE bytes of a terms page: markup around paragraphs of words drawn at random.

    Markup repeats and prose does not, so it compresses about as well as a real snapshot (3–4×).
    """
    parts = [f"<!DOCTYPE html><html lang=en><head><title>{path}</title></head><body><main>"]
    size = 0
    while size < SIZE:
        words = " ".join(rng.choice(_VOCABULARY) for _ in range(rng.randrange(20, 80)))
        paragraph = f'<p class="legal-text paragraph">{words.capitalize()}, round {round_}.</p>\n'
        parts.append(paragraph)
        size += len(paragraph)
    parts.append("</main></body></html>\n")
    return "".join(parts).encode()[:SIZE]


def paths_for(count: int) -> list[str]:
    # Shaped like a collection: services holding a few terms types each.
    types = ["Terms of Service", "Privacy Policy", "Imprint", "Community Guidelines #rules"]
    return [f"Service {i // 4:04d}/{types[i % 4]}.html" for i in range(count)]


def commit_rounds(folder: Path, paths: list[str], rounds: int, seed: int) -> tuple[int, float, float]:
    """Commits made, wall-clock seconds and CPU seconds (the machine may be shared: both matter)."""
    rng = random.Random(seed)
    contents = [[page(rng, path, r) for path in paths] for r in range(rounds)]  # built before timing
    started, cpu = time.perf_counter(), time.process_time()
    commits = 0
    with Repository.open(folder) as repo:
        for r in range(rounds):
            for i, path in enumerate(paths):
                date = START + timedelta(seconds=r * len(paths) + i)
                if repo.commit(path, contents[r][i], message=f"Record new changes of {path}\n", date=date):
                    commits += 1
    return commits, time.perf_counter() - started, time.process_time() - cpu


def time_latest(folder: Path, paths: list[str], samples: int = 200) -> tuple[float, float]:
    """Mean seconds of `latest()` and of `git log -1 -- path`, over random paths."""
    rng = random.Random(1)
    chosen = [rng.choice(paths) for _ in range(samples)]
    with Repository.open(folder) as repo:
        started = time.perf_counter()
        for path in chosen:
            assert repo.latest(path) is not None
        ours = (time.perf_counter() - started) / samples
    started = time.perf_counter()
    for path in chosen[:20]:
        subprocess.run(
            ["git", "-C", str(folder), "log", "-1", "--format=%H", "--", path],
            check=True,
            capture_output=True,
        )
    theirs = (time.perf_counter() - started) / 20
    return ours, theirs


def report_latest(folder: Path, paths: list[str], commits: int) -> None:
    ours, theirs = time_latest(folder, paths)
    print(f"latest() on {commits} commits: {ours * 1e3:.3f} ms (git log -1 -- path: {theirs * 1e3:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--paths", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--history", type=int, default=20_000, help="commits of the repository for latest()")
    parser.add_argument("--dir", help="where to create the repositories (default: the temporary folder)")
    args = parser.parse_args()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"{os.cpu_count()} CPUs, load average {load} (CPU seconds are this process's alone)")
    with tempfile.TemporaryDirectory(prefix="ota-bench-", dir=args.dir) as tmp:
        folder = Path(tmp) / "small"
        paths = paths_for(args.paths)
        sample = page(random.Random(0), paths[0], 0)
        ratio = len(sample) / len(zlib.compress(sample, 6))
        commits, seconds, cpu = commit_rounds(folder, paths, args.rounds, seed=0)
        print(
            f"commit: {commits} commits of ~{SIZE // 1000} KB (zlib ratio {ratio:.1f}) in {seconds:.2f} s "
            f"(CPU {cpu:.2f} s) = {commits / seconds:,.0f} commits/s, {seconds / commits * 1e3:.2f} ms each"
        )

        report_latest(folder, paths, commits)

        big = Path(tmp) / "big"
        rounds = max(1, args.history // args.paths)
        commits, seconds, cpu = commit_rounds(big, paths, rounds, seed=1)
        print(
            f"history: built {commits} commits in {seconds:.1f} s (CPU {cpu:.1f} s) "
            f"= {commits / seconds:,.0f} commits/s"
        )
        report_latest(big, paths, commits)

        os.remove(big / ".git" / "ota-records.json")
        started = time.perf_counter()
        Repository.open(big).close()
        print(
            f"path index rebuilt from {commits} commits (first open of an OTA repository): "
            f"{time.perf_counter() - started:.2f} s"
        )


if __name__ == "__main__":
    main()
