"""How fast `ota verify` checks a long history: versions per second and peak memory.

    .venv/bin/python bench/verify.py [--terms 1000] [--versions 20000] [--size 4000] [--dir /dev/shm]

Builds, with `ota.store.repository.Repository` directly (no network), a collection of TERMS
terms (one per service; the declarations folder a git repository), and VERSIONS versions spread
over them in rounds, each extracted from its own snapshot of about SIZE bytes; then runs
`verify_archive` on all cores and prints versions checked per second, the whole time and the
peak memory (RSS) of the verifying process and of its extraction processes. Every version must
be reproduced: the script fails otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ota.declarations import SourceDocument, Terms
from ota.extract import extract_terms
from ota.settings import CollectionSettings, Settings, TrackSettings
from ota.store.records import record_snapshot, record_version
from ota.store.repository import Repository
from ota.verify import verify_archive

START = datetime(2024, 1, 1, tzinfo=UTC)
TYPE = "Terms of Service"
WORDS = "user data service content licence agreement account law right party notice privacy".split()


def page(rng: random.Random, number: int, size: int) -> str:
    parts = [f"<!DOCTYPE html><html><head><title>Terms {number}</title></head><body><nav>Menu</nav><main>"]
    length = 0
    while length < size:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
        chunk = (
            f"<h2>Section {length}</h2><p>{sentence.capitalize()}.</p>"
            if rng.random() < 0.1
            else (f'<p>{sentence.capitalize()}, see <a href="/terms#{length}">this</a>.</p>')
        )
        parts.append(chunk)
        length += len(chunk)
    parts.append("</main><footer>© Example</footer></body></html>")
    return "".join(parts)


def extract_one(arguments: tuple[str, str]) -> str:
    location, html = arguments
    return extract_terms([(SourceDocument(location, select=("main",)), html.encode(), "text/html")])


def build(root: Path, terms_count: int, versions: int, size: int) -> None:
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    all_terms = []
    for number in range(terms_count):
        service_id = f"Service{number:05}"
        location = f"https://example.com/{service_id}/terms"
        declaration = {"name": service_id, "terms": {TYPE: {"fetch": location, "select": "main"}}}
        (declarations / f"{service_id}.json").write_text(json.dumps(declaration), "utf-8")
        all_terms.append(Terms(service_id, TYPE, (SourceDocument(location, select=("main",)),)))
    env = {
        **os.environ,
        "GIT_COMMITTER_DATE": "2023-12-01T00:00:00Z",
        "GIT_AUTHOR_DATE": "2023-12-01T00:00:00Z",
    }
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "Declarations"]):
        subprocess.run(["git", "-C", str(declarations), *command], check=True, env=env)
    rng = random.Random(1)
    rounds = -(-versions // terms_count)
    executor = ProcessPoolExecutor()
    snapshots = Repository.open(root / "snapshots")
    with executor, snapshots, Repository.open(root / "versions", cited=snapshots) as repo:
        made = 0
        for round_ in range(rounds):
            batch = all_terms[: min(terms_count, versions - made)]
            pages = [page(rng, round_ * terms_count + i, size) for i in range(len(batch))]
            markdowns = list(
                executor.map(
                    extract_one,
                    [(t.documents[0].location, p) for t, p in zip(batch, pages, strict=True)],
                    chunksize=50,
                )
            )
            for index, (terms, html, markdown) in enumerate(zip(batch, pages, markdowns, strict=True)):
                date = START + timedelta(days=round_, seconds=index)
                snapshot = record_snapshot(
                    snapshots,
                    terms,
                    terms.documents[0],
                    html.encode(),
                    mime_type="text/html",
                    fetch_date=date,
                    fetcher="htmlOnly",
                    engine_version="ota 0.1.0",
                )
                record_version(
                    repo,
                    terms,
                    markdown,
                    snapshot_ids=[snapshot.commit_id],
                    date=date,
                    engine_version="ota 0.1.0",
                )
            made += len(batch)


def cpu_seconds() -> float:
    """User and system CPU of this process and of its children that ended (extraction, git)."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
    )


def peak_rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--terms", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20_000)
    parser.add_argument("--size", type=int, default=4000, help="bytes of HTML per snapshot")
    parser.add_argument("--dir", type=Path, default=None, help="where to build (default: a temporary folder)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=options.dir) as folder:
        root = Path(folder)
        started = time.monotonic()
        build(root, options.terms, options.versions, options.size)
        built = time.monotonic() - started
        print(f"built {options.versions} versions of {options.terms} terms in {built:.1f} s")
        settings = Settings(
            collection=CollectionSettings(
                declarations=root / "declarations", snapshots=root / "snapshots", versions=root / "versions"
            ),
            track=TrackSettings(extract_workers=options.workers),
        )
        rss_before = peak_rss_mb(resource.RUSAGE_SELF)
        cpu_before = cpu_seconds()
        started = time.monotonic()
        report = asyncio.run(verify_archive(settings))
        elapsed = time.monotonic() - started
        cpu = cpu_seconds() - cpu_before
        counts = report.counts
        print(
            f"verified {counts['versions']} versions in {elapsed:.1f} s with {options.workers} extraction "
            f"processes: {counts['versions'] / elapsed:.0f} versions/s; {counts['reproduced']} reproduced, "
            f"{counts['explained']} explained, {counts['unexplained']} unexplained"
        )
        print(
            f"CPU: {cpu:.1f} s in all ({cpu / counts['versions'] * 1000:.2f} ms per version; wall time on an "
            f"idle machine is about CPU / cores); load average now {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores"
        )
        print(
            f"peak memory (RSS): verifying process {peak_rss_mb(resource.RUSAGE_SELF):.0f} MB "
            f"(before verifying: {rss_before:.0f} MB), largest child process (extraction or "
            f"git log) {peak_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
        )
        if counts["reproduced"] != counts["versions"]:
            for line in report.summary_lines(limit=10):
                print(line)
            raise SystemExit(1)


if __name__ == "__main__":
    main()
