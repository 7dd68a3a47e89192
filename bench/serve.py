"""Benchmark of `ota serve`: its index, its answers' latency and its memory, on a generated history.

    .venv/bin/python bench/serve.py [--terms 1000] [--versions 20000] [--requests 100] [--dir /dev/shm]

1. A versions repository of `--versions` commits over `--terms` terms (200 services × 5 types),
   written with `ota.store.repository.Repository` (10% technical upgrades; texts of 2–50 KB, a few
   paragraphs changed per version; 5% of the terms 50 KB long), with its declarations and metadata.
2. The index built from scratch (rows), then the word and line counts filled by worker processes,
   then the search index (every distinct paragraph in FTS5, and its spans through history).
3. 100 commits more, then the incremental update of the index (rows, counts and search).
4. `ota serve` started as a process: time to its first answer, then `--requests` requests per route,
   each on a different terms or version pair where the route allows it (so caches do not answer;
   diffs are rendered: both versions' Markdown as HTML, the changes marked in place; searches are
   phrases of 4 words taken from the texts): p50 and p95 per route; the server's peak memory
   (VmHWM) at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ota.store.reader import RepositoryReader
from ota.store.repository import Repository
from ota.web.counts import CountFiller, count_inline
from ota.web.index import INDEX_FILE, VersionIndex
from ota.web.search import SEARCH_FILE, SearchIndex

TYPES = ["Terms of Service", "Privacy Policy", "Community Guidelines", "Trackers Policy", "Imprint"]
WORDS = (
    "you we your our data services account content may will not share sell information third parties "
    "law use access personal provide agree rights terms policy process purposes security cookies"
).split()
START = datetime(2022, 1, 1, tzinfo=UTC)


def paragraph(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(25, 110))]
    return " ".join(words).capitalize() + "."


def document(rng: random.Random, size: int) -> list[str]:
    paragraphs = ["Terms\n=====", "Introduction\n------------"]
    while sum(len(p) + 2 for p in paragraphs) < size:
        if rng.random() < 0.08:
            paragraphs.append(f"### Section {len(paragraphs)}")
        paragraphs.append(paragraph(rng))
    return paragraphs


def edit(rng: random.Random, paragraphs: list[str]) -> list[str]:
    """A few words changed in 1–3 paragraphs, sometimes a paragraph added or removed."""
    changed = list(paragraphs)
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(2, len(changed))
        words = changed[index].split(" ")
        for _ in range(rng.randint(1, 4)):
            words[rng.randrange(len(words))] = rng.choice(WORDS)
        changed[index] = " ".join(words)
    if rng.random() < 0.2:
        changed.insert(rng.randrange(2, len(changed)), paragraph(rng))
    if rng.random() < 0.1 and len(changed) > 4:
        del changed[rng.randrange(2, len(changed))]
    return changed


def generate(root: Path, terms: int, versions: int, seed: int = 1) -> list[str]:
    """The collection folder; returns the paths of the 50 KB terms."""
    rng = random.Random(seed)
    services = max(1, terms // len(TYPES))
    names = [f"Service {number:04d}" for number in range(services)]
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    all_terms = [(name, terms_type) for name in names for terms_type in TYPES][:terms]
    for name in names:
        declared = {
            t: {"fetch": f"https://example.com/{quote(name)}/{quote(t)}", "select": "main"}
            for n, t in all_terms
            if n == name
        }
        (declarations / f"{name}.json").write_text(json.dumps({"name": name, "terms": declared}), "utf-8")
    (root / "metadata.yml").write_text("id: bench\nname: Bench collection\ntagline: Generated\n", "utf-8")
    big = {path for index, path in enumerate(all_terms) if index % 20 == 0}
    texts = {t: document(rng, 50_000 if t in big else rng.randint(2_000, 20_000)) for t in all_terms}
    repo = Repository.open(root / "versions")
    date = START
    step = timedelta(seconds=(4 * 365 * 86400) // max(versions, 1))
    for index in range(versions):
        terms_key = all_terms[index % len(all_terms)]
        first = index < len(all_terms)
        upgrade = not first and rng.random() < 0.1
        if not first:
            texts[terms_key] = edit(rng, texts[terms_key])
        date += step
        service, terms_type = terms_key
        prefix = (
            "First record of"
            if first
            else "Apply technical or declaration upgrade on"
            if upgrade
            else "Record new changes of"
        )
        source = f"This version was recorded after extracting from snapshot {'a' * 40}"
        message = f"{prefix} {service} {terms_type}\n\n{source}\n"
        repo.commit(
            f"{service}/{terms_type}.md", "\n\n".join(texts[terms_key]).encode(), message=message, date=date
        )
    repo.close()
    return [f"{service}/{terms_type}.md" for service, terms_type in sorted(big)]


def more_commits(root: Path, count: int) -> None:
    rng = random.Random(2)
    repo = Repository.open(root / "versions")
    date = datetime.now(UTC) - timedelta(hours=1)
    files = sorted(p.relative_to(root / "versions").as_posix() for p in (root / "versions").glob("*/*.md"))
    for index in range(count):
        path = files[index * 7 % len(files)]
        service, terms_type = path[:-3].split("/", 1)
        current = (root / "versions" / path).read_text("utf-8").split("\n\n")
        message = f"Record new changes of {service} {terms_type}\n"
        repo.commit(
            path,
            "\n\n".join(edit(rng, current)).encode(),
            message=message,
            date=date + timedelta(seconds=index),
        )
    repo.close()


def wait_for_server(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    """Wait until `ota serve` answers its API; stop the bench if the server stopped."""
    while True:
        try:
            if client.get("/api/v1/services").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
        if server.poll() is not None:
            raise SystemExit("the server stopped")


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--terms", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--dir", default=None, help="where to generate (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated collection")
    parser.add_argument(
        "--reuse", default=None, help="a collection kept by --keep: only its indexes are updated, then served"
    )
    args = parser.parse_args()
    if args.reuse:
        run(Path(args.reuse), args)
        return
    if args.dir:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="ota-bench-serve-", dir=args.dir))
    try:
        run(root, args)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def run(root: Path, args: argparse.Namespace) -> None:
    big = update(root) if args.reuse else build(root, args)
    port = 38000 + os.getpid() % 1000
    env = {**os.environ, "OTA_CONFIG": ""}
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ota.cli",
            "serve",
            "--port",
            str(port),
            "--declarations",
            str(root / "declarations"),
            "--versions",
            str(root / "versions"),
            "--snapshots",
            str(root / "snapshots"),
        ],
        env=env,
        cwd=root,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            wait_for_server(client, server)
            print(f"server start-up to first answer: {time.perf_counter() - started:.2f} s")
            measure(client, root, big, args.requests, server.pid)
        now, peak = memory_mb(server.pid)
        print(f"server memory: {now:.0f} MB now, {peak:.0f} MB at peak")
    finally:
        server.terminate()
        server.wait(timeout=30)


def update(root: Path) -> list[str]:
    """Bring the indexes of a kept collection up to date (this version's search index may differ
    from the one it was built with); the 50 KB terms."""
    index = VersionIndex(RepositoryReader.open(root / "versions"))
    index.sync()
    started = time.perf_counter()
    SearchIndex(index).sync()
    print(f"reused {root}; search index brought up to date in {time.perf_counter() - started:.1f} s")
    index.close()
    return sorted(
        p.relative_to(root / "versions").as_posix()
        for p in (root / "versions").glob("*/*.md")
        if p.stat().st_size > 40_000
    )


def build(root: Path, args: argparse.Namespace) -> list[str]:
    """Generate the collection and its indexes, printing how long each took; the 50 KB terms."""
    started = time.perf_counter()
    big = generate(root, args.terms, args.versions)
    print(
        f"generated {args.versions} versions of {args.terms} terms "
        f"in {time.perf_counter() - started:.1f} s ({root})"
    )

    reader = RepositoryReader.open(root / "versions")
    (reader.git_dir / INDEX_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    index = VersionIndex(reader)
    rows = index.sync()
    build = time.perf_counter() - started
    print(f"index build from scratch: {build:.2f} s ({rows} rows)")
    started = time.perf_counter()
    filler = CountFiller(index)
    filler.start()
    filler.done.wait()
    print(
        f"word and line counts of every version: {time.perf_counter() - started:.2f} s "
        f"({os.cpu_count()} worker processes)"
    )
    assert index.pending_count() == 0
    (reader.git_dir / SEARCH_FILE).unlink(missing_ok=True)
    started = time.perf_counter()
    search = SearchIndex(index)
    search.sync()
    blocks = search.db.execute("SELECT COUNT(*) FROM blocks").fetchone()[0]
    spans = search.db.execute("SELECT COUNT(*) FROM spans").fetchone()[0]
    size = (reader.git_dir / SEARCH_FILE).stat().st_size / 1e6
    print(
        f"search index from scratch: {time.perf_counter() - started:.1f} s "
        f"({blocks} distinct paragraphs, {spans} spans, {size:.0f} MB)"
    )

    more_commits(root, 100)
    started = time.perf_counter()
    added = index.sync()
    while count_inline(index):
        pass
    search.sync()
    search.close()
    print(
        f"incremental update after {added} new commits (rows, counts and search): "
        f"{time.perf_counter() - started:.3f} s"
    )
    index.close()
    return big


def cpu_seconds(pid: int) -> float:
    """The CPU time a process used so far (user and system), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(client: httpx.Client, root: Path, big: list[str], requests: int, pid: int) -> None:
    """p50/p95 of each route, each request on other terms or other versions where the route allows,
    and the server's CPU time per request (a figure that other processes on the machine leave
    alone, where latencies grow with the machine's load)."""
    rng = random.Random(3)
    all_versions = client.get("/api/v1/versions?limit=500").json()["data"]
    terms = sorted({(v["serviceId"], v["termsType"]) for v in all_versions})
    big_versions: list[tuple[str, str]] = []
    for path in big:
        service, terms_type = path[:-3].split("/", 1)
        ids = [
            v["id"]
            for v in client.get(f"/api/v1/versions/{quote(service)}/{quote(terms_type)}?limit=500").json()[
                "data"
            ]
        ]
        big_versions.extend(zip(ids[1:], ids[:-1], strict=False))  # (older, newer)
    rng.shuffle(big_versions)

    texts = [(root / "versions" / path).read_text("utf-8").split() for path in big]

    def phrase() -> str:
        words = rng.choice(texts)
        start = rng.randrange(len(words) - 4)
        return " ".join(word.strip(".,") for word in words[start : start + 4])

    def pick_terms() -> tuple[str, str]:
        service, terms_type = rng.choice(terms)
        return quote(service, safe=""), quote(terms_type, safe="")

    routes = {
        "home page": lambda i: "/",
        "home page, searched": lambda i: f"/?q=Service+{i % 200:04d}",
        "terms timeline": lambda i: "/services/{}/{}".format(*pick_terms()),
        "version page": lambda i: f"/versions/{rng.choice(all_versions)['id']}",
        "rendered diff, two 50 KB versions": lambda i: (
            f"/versions/{big_versions[i % len(big_versions)][1]}/diff"
        ),
        "rendered diff, side by side": lambda i: (
            f"/versions/{big_versions[-1 - i % len(big_versions)][1]}/diff?view=side"
        ),
        "search page, a phrase": lambda i: "/search?" + urlencode({"q": phrase()}),
        "GET /search?q=PHRASE": lambda i: "/api/v1/search?" + urlencode({"q": phrase()}),
        "GET /search, 1 service": lambda i: (
            "/api/v1/search?" + urlencode({"q": phrase(), "service": f"Service {i % 200:04d}"})
        ),
        "GET /services": lambda i: "/api/v1/services",
        "GET /service/ID": lambda i: f"/api/v1/service/{pick_terms()[0]}",
        "GET /versions": lambda i: f"/api/v1/versions?offset={rng.randrange(0, 19000)}",
        "GET /versions/ID": lambda i: f"/api/v1/versions/{pick_terms()[0]}",
        "GET /versions/ID/TYPE": lambda i: "/api/v1/versions/{}/{}".format(*pick_terms()),
        "GET /version/VERSION_ID": lambda i: f"/api/v1/version/{rng.choice(all_versions)['id']}",
        "GET /version/ID/TYPE/latest": lambda i: "/api/v1/version/{}/{}/latest".format(*pick_terms()),
        "GET /version/ID/TYPE/DATE": lambda i: "/api/v1/version/{}/{}/2024-06-01T00:00:00Z".format(
            *pick_terms()
        ),
        "GET /diff/VERSION_ID (50 KB)": lambda i: (
            f"/api/v1/diff/{big_versions[(i * 7) % len(big_versions)][1]}"
        ),
        "GET /metadata": lambda i: "/api/v1/metadata",
        "GET /feed": lambda i: "/api/v1/feed",
        "GET /feed/ID": lambda i: f"/api/v1/feed/{pick_terms()[0]}",
        "GET /feed/ID/TYPE": lambda i: "/api/v1/feed/{}/{}".format(*pick_terms()),
    }
    print(f"{'route':<34} {'p50 ms':>8} {'p95 ms':>8} {'CPU ms':>8}")
    for name, path_of in routes.items():
        timings = []
        cpu = cpu_seconds(pid)
        for number in range(requests):
            path = path_of(number)
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
        cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / requests
        print(
            f"{name:<34} {statistics.median(timings):>8.1f} {percentile(timings, 0.95):>8.1f} {cpu_ms:>8.1f}"
        )


if __name__ == "__main__":
    main()
