"""Kill `ota track` with SIGKILL at random moments and check that both repositories stay right.

    .venv/bin/python bench/faults.py [--terms 300] [--kills 40] [--seed N] [--keep DIR] [--aim mixed]
    .venv/bin/python bench/faults.py --check DIR      # the final checks only, on a kept folder
    .venv/bin/python bench/faults.py --full-disk [--disk-size 1m]   # a disk that fills up (faults_disk.py)

Generates a collection of TERMS terms (two per service; one in ten combines two pages, one in
twelve is a PDF) served from 127.0.0.1 by a server process of its own, measures a first run and
a typical run without killing them, then, from empty repositories, runs `ota track` in a new
session until KILLS runs were killed (a run that ends before its kill does not count). Each kill
comes at a moment drawn uniformly over the expected run time, or from that moment on as soon as a
step of publishing a batch is seen (one in four: a uniform moment would almost never hit those
milliseconds), or while ota merges packs (`git repack`, one in ten; the repositories are then
given more packs than ota keeps). Half of the kills hit the whole process group, half only the
tracking process (its children must then die by themselves). Before every run but the first, a
random share of the pages changes (their text, what the declaration removes, or back to an
earlier state); the script keeps what each page served at each moment.

After every kill: no process of the run works on (see `faults_checks.check_after_kill`), the
repositories' locks are free, `git fsck --strict` is clean in both, and the next run starts (one
that exits by itself must exit 0). At the end, after one more change and a clean run: each
document's latest snapshot is what the server serves now; each terms' latest version is what
`ota.extract.extract_terms` makes of the pages served now; every snapshot was served, in the
order served; every version cites one snapshot per document, on the branch, recording that
document, and is their extraction; every commit is the bot's and changes exactly one file (no
record is committed twice in a row); `git status` is empty and `git fsck --strict` clean in both;
ota left no marker or temporary file; and `ota verify` reproduces every version.

It prints where the kills landed (as the server's count of pages served, ota's markers and the
processes alive tell it), commits and time per run, and exits 1 when a check failed, 2 when it
could not run. `--seed` makes the collection, the changes and the kill moments reproducible
(where each kill lands still depends on the machine's speed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import multiprocessing.sharedctypes
import multiprocessing.synchronize
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from faults_checks import (
    browser_processes,
    browsers_gone,
    check_after_kill,
    check_archive,
    session_processes,
)
from track import free_ports, run_servers  # bench/track.py, beside this file

from ota.store.repository import MAX_PACKS
from tests.pdfs import make_pdf

WORDS = (
    "service user content account data policy terms agree provide information rights use may "
    "shall law third party personal access platform community rules report remove safety notice"
).split()
TYPES = ("Terms of Service", "Privacy Policy")
PARAGRAPHS = 8
#: Longest a run may take before it is called hung (seconds).
RUN_TIMEOUT = 600.0
#: Share of kills made, from a drawn moment on, as soon as a step of publishing a batch is seen:
#: publishing lasts a few milliseconds of a run, so a uniform moment would almost never hit it.
AT_PUBLISHING = 0.25
#: Share of kills made while ota merges packs when it closes a repository (`git repack`).
AT_REPACK = 0.1
REPACK = "git repack"
#: What the steps of publishing a batch leave on disk while they run (ota/store/repository.py).
PUBLISHING_SIGNS = {
    "pack/tmp_": "writing the pack",
    "ota-publishing": "between the pack and the files (moving the branch, writing files)",
    "ota-tmp/": "writing a file",
    "index.lock": "writing the index",
}


# -- the collection and what its pages serve --------------------------------------------------------


@dataclass
class Document:
    """One page of the generated site, and the state it serves: (text generation, noise generation)."""

    name: str  # its file under site/, and the last segment of its URL
    port: int
    pdf: bool = False
    state: tuple[int, int] = (0, 0)
    browser: bool = False  # declared with executeClientScripts: fetched by Chromium

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/p/{self.name}"


def render(name: str, pdf: bool, state: tuple[int, int]) -> bytes:
    """The bytes a page serves in a state; a function of its arguments only (the checks re-render)."""
    text, noise = state

    def words(paragraph: int, count: int) -> str:
        generation = text if paragraph % 4 == text % 4 else 0  # a new text changes a quarter of it
        digest = hashlib.sha256(f"{name}/{paragraph}/{generation}".encode()).digest()
        return " ".join(WORDS[digest[k % 32] * (k + 1) % len(WORDS)] for k in range(count))

    if pdf:
        return make_pdf(f"Privacy policy {name}", f"Version {text}", *(words(p, 9) for p in range(4)))
    paragraphs = "".join(f"<p>{p + 1}. {words(p, 50).capitalize()}.</p>" for p in range(PARAGRAPHS))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Terms</title></head><body>"
        f"<nav><a href='/'>Home</a> visit {noise}</nav><main><h1>Terms {name}</h1>"
        f"<div class='banner'>Cookie banner {noise}</div><p>Version {text}.</p>{paragraphs}</main>"
        f"<footer>Footer {noise}</footer></body></html>"
    ).encode()


class Site:
    """The pages under `folder`, and what each one served from each moment on."""

    def __init__(self, folder: Path, documents: list[Document]) -> None:
        self.folder = folder
        self.documents = documents
        #: page name → [(moment, text, noise, sha256)], a new entry each time it changed.
        self.log: dict[str, list[tuple[int, int, int, str]]] = {d.name: [] for d in documents}
        folder.mkdir(parents=True, exist_ok=True)
        for document in documents:
            self._write(document, 0)

    def _write(self, document: Document, moment: int) -> None:
        content = render(document.name, document.pdf, document.state)
        tmp = self.folder / f".{document.name}.tmp"
        tmp.write_bytes(content)
        tmp.replace(self.folder / document.name)  # the server never reads half a page
        digest = hashlib.sha256(content).hexdigest()
        self.log[document.name].append((moment, *document.state, digest))

    def change(self, rng: random.Random, moment: int) -> int:
        """Change a random share of the pages (2-30%); return how many changed."""
        share = rng.uniform(0.02, 0.3)
        changed = 0
        for document in self.documents:
            if rng.random() >= share:
                continue
            text, noise = document.state
            earlier = {(t, n) for _, t, n, _ in self.log[document.name]} - {document.state}
            kind = rng.random()
            if kind < 0.15 and earlier:  # back to what it served before
                document.state = rng.choice(sorted(earlier))
            elif kind < 0.4 and not document.pdf:  # only what the declaration removes
                document.state = (text, noise + 1)
            else:
                latest = max(t for _, t, _, _ in self.log[document.name])
                document.state = (latest + 1, noise)
            self._write(document, moment)
            changed += 1
        return changed

    def checkpoint(self) -> tuple[list[tuple[int, int]], dict[str, list[tuple[int, int, int, str]]]]:
        return [d.state for d in self.documents], {name: list(entries) for name, entries in self.log.items()}

    def restore(
        self, saved: tuple[list[tuple[int, int]], dict[str, list[tuple[int, int, int, str]]]]
    ) -> None:
        """Serve again what the pages served at a checkpoint, as if nothing had happened since."""
        states, self.log = saved
        for document, state in zip(self.documents, states, strict=True):
            document.state = state
            (self.folder / document.name).write_bytes(render(document.name, document.pdf, state))

    def save(self, path: Path) -> None:
        kinds = {d.name: {"pdf": d.pdf, "browser": d.browser} for d in self.documents}
        path.write_text(json.dumps({"documents": kinds, "served": self.log}, indent=1), "utf-8")


# -- the server --------------------------------------------------------------------------------------


def serve(
    folder: str,
    ports: list[int],
    latency: float,
    served: multiprocessing.sharedctypes.Synchronized[int],
    ready: multiprocessing.synchronize.Event,
    max_seconds: float,
) -> None:
    """The server process: GET /p/NAME serves site/NAME, read at each request; counts responses."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                name = request.split(b" ", 2)[1].decode().rsplit("/", 1)[1]
                await asyncio.sleep(latency)
                try:
                    body, status = (Path(folder) / name).read_bytes(), b"200 OK"
                except OSError:
                    body, status = b"not found", b"404 Not Found"
                kind = b"application/pdf" if name.endswith(".pdf") else b"text/html; charset=utf-8"
                writer.write(
                    b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
                    % (status, kind, len(body))
                    + body
                )
                await writer.drain()
                with served.get_lock():
                    served.value += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    run_servers(handle, ports, ready, max_seconds)


def write_collection(root: Path, terms: int, ports: list[int], browser_every: int = 0) -> list[Document]:
    """The declarations of `terms` terms (two per service) and the documents they fetch; one single-page
    terms in `browser_every` (0: none) declares `executeClientScripts`."""
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    documents: list[Document] = []
    services: dict[str, dict[str, object]] = {}

    def document(name: str, pdf: bool = False) -> Document:
        documents.append(Document(name, ports[len(documents) % len(ports)], pdf))
        return documents[-1]

    for index in range(terms):
        entry: dict[str, object]
        if index % 10 == 3:
            parts = [document(f"{index:05d}-a.html"), document(f"{index:05d}-b.html")]
            entry = {"combine": [{"fetch": d.url} for d in parts], "select": "main", "remove": ".banner"}
        elif index % 12 == 7:
            entry = {"fetch": document(f"{index:05d}.pdf", pdf=True).url}
        else:
            page = document(f"{index:05d}.html")
            entry = {"fetch": page.url, "select": "main", "remove": ".banner"}
            if browser_every and index % browser_every == browser_every // 2:
                page.browser = True
                entry["executeClientScripts"] = True
        service = services.setdefault(
            f"Service {index // 2:04d}", {"name": f"Service {index // 2}", "terms": {}}
        )
        service["terms"][TYPES[index % 2]] = entry  # type: ignore[index]
    for service_id, declaration in services.items():
        (declarations / f"{service_id}.json").write_text(json.dumps(declaration, indent=2), "utf-8")
    (root / "ota.toml").write_text("[track]\nextract_workers = 2\n", "utf-8")
    return documents


# -- running and killing ota ---------------------------------------------------------------------------


def ota_environment() -> dict[str, str]:
    """This environment, with ota's address guard letting it fetch 127.0.0.1 and no proxy in the way."""
    proxies = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}
    environment = {k: v for k, v in os.environ.items() if k not in proxies}
    return {**environment, "OTA_ALLOW_PRIVATE_ADDRESSES": "1"}


def commit_count(repo: Path) -> int:
    result = subprocess.run(
        ["git", "--git-dir", str(repo / ".git"), "rev-list", "--count", "HEAD"],
        capture_output=True,
        text=True,
    )
    return int(result.stdout.strip() or 0) if result.returncode == 0 else 0


def publishing_signs(repos: list[Path]) -> set[str]:
    """What a batch being published leaves on disk until it is done (see ota/store/repository.py),
    each named so that one left by an earlier killed run is told from a new one."""
    signs = set()
    for repo in repos:
        gitdir = repo / ".git"
        with contextlib.suppress(OSError):
            signs.add(f"{repo.name}: ota-publishing {(gitdir / 'ota-publishing').read_text().strip()}")
        with contextlib.suppress(OSError):
            signs.add(f"{repo.name}: index.lock {(gitdir / 'index.lock').stat().st_mtime_ns}")
        for folder in (gitdir / "objects" / "pack", gitdir / "ota-tmp"):
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            signs.update(
                f"{repo.name}: {folder.name}/{n}"
                for n in names
                if folder.name != "pack" or n.startswith("tmp_")
            )
    return signs


@dataclass
class Run:
    """One `ota track`: how it went and, when it was killed, where the kill landed."""

    number: int
    seconds: float = 0.0
    killed: str = ""  # "group" or "process"; empty when it ended by itself
    aim: str = ""  # what the kill waited for (a publishing sign, REPACK); empty: a drawn moment
    phase: str = ""
    #: For a kill while publishing: the new publishing signs it left.
    signs: tuple[str, ...] = ()
    #: How long the last process of a killed run outlived the kill (seconds).
    outlived: float = 0.0
    #: Workers of a killed run that were still starting, gone by themselves since.
    starting_workers: int = 0
    #: Chromium processes of a killed run (in sessions of their own) and how long the last outlived it.
    browser_processes: int = 0
    browser_outlived: float = 0.0
    returncode: int | None = None
    published: int = 0  # commits the run added to the branches
    output: str = ""
    problems: list[str] = field(default_factory=list)


@contextlib.contextmanager
def ota_track(root: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`ota track` on the collection at `root`, in a session of its own, its output in `log`; killed
    with its whole session if still running when the block ends (an interrupted experiment)."""
    command = [sys.executable, "-m", "ota.cli", "track", "--config", str(root / "ota.toml"), "--no-progress"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=ota_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def track(
    root: Path,
    run: Run,
    served: multiprocessing.sharedctypes.Synchronized[int],
    *,
    kill_at: float | None,
    aim: str = "",
    target: str = "",
    documents: int = 0,
) -> Run:
    """Run `ota track`; kill its process group or only its tracking process (`target`) `kill_at`
    seconds in, or, with `aim`, at the first new publishing sign starting with `aim` after that
    (`REPACK`: at the first `git repack` of the run). `kill_at` None: a run left to end by itself,
    killed and reported as hung after `RUN_TIMEOUT`. `documents`: pages a whole run fetches."""
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    repos = [root / "snapshots", root / "versions"]
    before = [commit_count(r) for r in repos]
    with served.get_lock():
        served_before = served.value
    stale = publishing_signs(repos)  # what earlier killed runs left, until this run's recovery
    started = time.monotonic()
    with ota_track(root, logs / f"run-{run.number:03d}.out") as process:
        deadline = started + (kill_at if kill_at is not None else RUN_TIMEOUT)
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        while aim and process.poll() is None and time.monotonic() < started + RUN_TIMEOUT:
            if aim == REPACK:  # from the drawn moment on, wait for what the kill aims at
                if any(is_repack(line) for line in session_processes(process.pid).values()):
                    break
                time.sleep(0.002)  # a repack lasts tens of milliseconds at least
            elif any(sign.startswith(aim) for sign in publishing_signs(repos) - stale):
                break  # publishing steps last a millisecond or less: polled without pause
        members: dict[int, str] = {}
        browsers: dict[int, str] = {}
        signs: set[str] = set()
        killed_at = 0.0
        if process.poll() is None:
            members = session_processes(process.pid)
            browsers = browser_processes(process.pid, members)
            signs = publishing_signs(repos) - stale
            if kill_at is None:
                run.problems.append(f"run {run.number} still going after {RUN_TIMEOUT:.0f} s: killed")
            killed_at = time.monotonic()
            with contextlib.suppress(ProcessLookupError):  # it may end on its own meanwhile
                if target == "group" or kill_at is None:
                    os.killpg(process.pid, signal.SIGKILL)
                else:
                    os.kill(process.pid, signal.SIGKILL)
        run.returncode = process.wait()
        run.seconds = time.monotonic() - started
        if run.returncode == -signal.SIGKILL:
            run.killed, run.aim = target, aim
        with served.get_lock():
            pages = served.value - served_before
        run.output = (root / "logs" / f"run-{run.number:03d}.out").read_text(errors="replace")
        if run.killed:
            after = check_after_kill(root, process.pid, members, target, killed_at)
            run.problems += after.problems
            run.outlived, run.starting_workers = after.outlived, after.starting_workers
            run.browser_processes = len(browsers)
            gone, run.browser_outlived = browsers_gone(browsers, killed_at)
            run.problems += gone
            run.signs = tuple(sorted(signs | (publishing_signs(repos) - stale)))
            if any(is_repack(line) for line in members.values()):
                run.phase = "merging packs"
            elif run.signs:
                run.phase = "publishing"
            else:
                run.phase = phase(repos, members, pages, documents)
        elif run.returncode != 0:
            run.problems.append(
                f"run {run.number} exited with {run.returncode}: {run.output.strip()[-2000:]}"
            )
        run.published = sum(commit_count(r) for r in repos) - sum(before)
        return run


def is_repack(command: str) -> bool:
    """Whether a command line is the `git repack` ota runs when it closes a repository with many packs."""
    return command.startswith("git ") and " repack " in command


def add_packs(repos: list[Path]) -> None:
    """Give each repository more packs than ota lets it keep (`MAX_PACKS`), so that closing it runs
    `git repack`, as it does after months of runs: small packs, each a copy of one commit object."""
    for repo in repos:
        gitdir = str(repo / ".git")
        pack = repo / ".git" / "objects" / "pack"
        missing = MAX_PACKS + 1 - len(list(pack.glob("pack-*.idx")))
        listed = subprocess.run(
            ["git", "--git-dir", gitdir, "rev-list", "HEAD"], capture_output=True, text=True
        )
        for commit in listed.stdout.split()[:missing]:  # one object per pack: a pack per commit
            subprocess.run(
                ["git", "--git-dir", gitdir, "pack-objects", "-q", str(pack / "pack")],
                input=f"{commit}\n",
                capture_output=True,
                text=True,
                check=True,
            )


def phase(repos: list[Path], members: dict[int, str], pages: int, documents: int) -> str:
    """Where a kill that left no publishing sign landed, as the server and the repositories tell it."""
    if pages == 0:
        return "starting"
    if pages < documents:
        return "fetching"
    opened = False
    for repo in repos:
        with contextlib.suppress(OSError, ValueError, IndexError):
            opened |= int((repo / ".git" / "ota-session").read_text().split()[0]) in members
    return "recording" if opened else "finishing"


# -- the whole experiment ---------------------------------------------------------------------------


def percentiles(values: list[float]) -> str:
    if not values:
        return "none"
    spread = f"{min(values):.2f}-{max(values):.2f} s"
    return f"median {statistics.median(values):.2f} s ({spread}, {len(values)} runs)"


def experiment(root: Path, args: argparse.Namespace, rng: random.Random) -> int:
    ports = free_ports(args.hosts)
    documents = write_collection(root, args.terms, ports, args.browser_every)
    site = Site(root / "site", documents)
    served = multiprocessing.Value("q", 0)
    ready = multiprocessing.Event()
    server = multiprocessing.Process(
        target=serve,
        args=(str(site.folder), ports, args.latency, served, ready, args.max_seconds),
        daemon=True,
    )
    server.start()
    runs: list[Run] = []
    try:
        if not ready.wait(30):
            print("the page server did not start", file=sys.stderr)
            return 2
        pdfs, combined = sum(d.pdf for d in documents), sum(d.name.endswith("-a.html") for d in documents)
        browser = sum(d.browser for d in documents)
        print(
            f"{args.terms} terms ({len(documents)} pages: {pdfs} PDFs, {combined} combined terms of two, "
            f"{browser} rendered by Chromium) on {args.hosts} ports, {args.latency * 1000:.0f} ms per "
            f"response; seed {args.seed}"
        )
        first, typical = calibrate(root / "calibration", site, served, args)
        if first.problems or typical.problems:
            print("\n".join(first.problems + typical.problems), file=sys.stderr)
            return 2
        print(
            f"calibration: first run {first.seconds:.2f} s, typical run {typical.seconds:.2f} s", flush=True
        )
        runs = kill_runs(root, site, served, args, rng, first.seconds, typical.seconds)
        site.change(rng, len(runs) + 1)
        final = track(root, Run(len(runs) + 1), served, kill_at=None)
        runs.append(final)
        print(f"final run: ended ({final.returncode}) after {final.seconds:.2f} s", flush=True)
        site.save(root / "served.json")
        started = time.monotonic()
        final_problems, figures = check_archive(root, render)
        figures["check_seconds"] = round(time.monotonic() - started)
    finally:
        server.terminate()
        server.join(5)
        if server.is_alive():
            os.kill(server.pid, signal.SIGKILL)
    return report(runs, final_problems, figures)


def calibrate(
    folder: Path, site: Site, served: multiprocessing.sharedctypes.Synchronized[int], args: argparse.Namespace
) -> tuple[Run, Run]:
    """A first run and a typical one (after a change) of the collection, in repositories of their own."""
    folder.mkdir()
    shutil.copytree(folder.parent / "declarations", folder / "declarations")
    shutil.copy(folder.parent / "ota.toml", folder / "ota.toml")
    first = track(folder, Run(0), served, kill_at=None)
    checkpoint = site.checkpoint()
    site.change(random.Random(args.seed + 1), 0)
    typical = track(folder, Run(0), served, kill_at=None)
    site.restore(checkpoint)  # the experiment starts from the pages the first run saw
    if not args.keep:
        shutil.rmtree(folder)
    return first, typical


def kill_runs(
    root: Path,
    site: Site,
    served: multiprocessing.sharedctypes.Synchronized[int],
    args: argparse.Namespace,
    rng: random.Random,
    first: float,
    typical: float,
) -> list[Run]:
    """Run and kill `ota track` until `args.kills` runs were killed (runs that end before their
    kill do not count), changing pages before each run but the first.

    A kill comes at a moment drawn uniformly over the expected time of the run: the first run's
    for the first, then the median of the last runs that ended by themselves (the typical
    calibration run at first), so that a machine slower or faster than at calibration still gets
    its runs killed all along."""
    runs: list[Run] = []
    durations = [typical]
    while sum(bool(r.killed) for r in runs) < args.kills and len(runs) < 3 * args.kills:
        number = len(runs) + 1
        if number > 1:
            site.change(rng, number)
        expected = first if number == 1 else statistics.median(durations[-5:])
        aim = ""
        draw = rng.random()
        if args.aim == "publishing" or (args.aim == "mixed" and draw < AT_PUBLISHING):
            aim = f"{rng.choice(('snapshots', 'versions'))}: {rng.choice(list(PUBLISHING_SIGNS))}"
        elif args.aim == "repack" or (args.aim == "mixed" and draw < AT_PUBLISHING + AT_REPACK):
            aim = REPACK
            add_packs([root / "snapshots", root / "versions"])
        kill_at = rng.uniform(0, expected * (0.8 if aim else 1.0))
        target = rng.choice(("group", "process"))
        run = track(
            root, Run(number), served, kill_at=kill_at, aim=aim, target=target, documents=len(site.documents)
        )
        runs.append(run)
        if not run.killed and number > 1:
            durations.append(run.seconds)
        if run.killed:
            where = f"{run.phase} ({', '.join(run.signs)})" if run.signs else run.phase
            what = f"killed ({run.killed}{', aimed at ' + aim if aim else ''}) while {where}"
        else:
            what = f"ended ({run.returncode})"
        print(
            f"run {number:3d}: {what} after {run.seconds:.2f} s, {run.published} commits published",
            flush=True,
        )
        for problem in run.problems:
            print(f"  FAILED: {problem}", flush=True)
    if sum(bool(r.killed) for r in runs) < args.kills:
        landed = sum(bool(r.killed) for r in runs)
        runs[-1].problems.append(f"only {landed} of {args.kills} kills landed in {len(runs)} runs")
    return runs


def report(runs: list[Run], final_problems: list[str], figures: dict[str, int]) -> int:
    """Print the figures; 1 if any check failed."""
    killed = [r for r in runs if r.killed]
    phases = ("starting", "fetching", "recording", "publishing", "merging packs", "finishing")
    print()
    print(
        f"kills: {len(killed)} ({sum(r.killed == 'group' for r in killed)} of the whole process group, "
        f"{sum(r.killed == 'process' for r in killed)} of the tracking process only; "
        f"{sum(bool(r.aim) and r.aim != REPACK for r in killed)} aimed at a step of publishing, "
        f"{sum(r.aim == REPACK for r in killed)} at merging packs)"
    )
    print("  landed while " + ", ".join(f"{p} {sum(r.phase == p for r in killed)}" for p in phases))
    steps = {
        kind: sum(any(sign.split(": ", 1)[1].startswith(kind) for sign in r.signs) for r in killed)
        for kind in PUBLISHING_SIGNS
    }
    print(
        "  publishing, by what it left: " + ", ".join(f"{PUBLISHING_SIGNS[k]} {n}" for k, n in steps.items())
    )
    print(f"  killed runs that had published commits: {sum(r.published > 0 for r in killed)}")
    print(f"  runs that ended before their kill: {sum(not r.killed for r in runs[:-1])}")
    print(f"time to kill: {percentiles([r.seconds for r in killed])}")
    outlived = max((r.outlived for r in killed), default=0.0)
    print(
        f"last process of a killed run gone after: {outlived * 1000:.0f} ms at most; workers still "
        f"starting when their parent was killed (gone by themselves): "
        f"{sum(r.starting_workers for r in killed)}"
    )
    with_browser = [r for r in killed if r.browser_processes]
    print(
        f"kills while Chromium ran: {len(with_browser)}; its last process gone after "
        f"{max((r.browser_outlived for r in with_browser), default=0.0) * 1000:.0f} ms at most "
        f"(in sessions of its own: it dies with Playwright's driver, which dies with ota)"
    )
    print(f"runs that ended by themselves: {percentiles([r.seconds for r in runs if not r.killed])}")
    print(f"final run: {runs[-1].seconds:.2f} s; final checks: {figures.get('check_seconds', 0)} s")
    print(
        f"commits: {figures.get('snapshots', 0)} snapshots, {figures.get('versions', 0)} versions "
        f"({figures.get('unreachable', 0)} more written to packs by killed runs, never published)"
    )
    problems = [p for r in runs for p in r.problems] + final_problems
    after_kill = [p for r in killed for p in r.problems]
    verdict = "passed" if not after_kill else "FAILED"
    print(f"after each kill (no survivor, locks free, git fsck --strict): {verdict}")
    print(f"final checks ({figures.get('checks', 0)} checks): {'passed' if not final_problems else 'FAILED'}")
    for problem in problems:
        print(f"  - {problem}")
    print("every check passed" if not problems else f"{len(problems)} checks FAILED")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=300)
    parser.add_argument("--kills", type=int, default=40)
    parser.add_argument(
        "--seed", type=int, help="makes the collection, changes and kill moments reproducible"
    )
    parser.add_argument("--hosts", type=int, default=6, help="ports the pages are served from")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per response")
    parser.add_argument(
        "--browser-every",
        type=int,
        default=25,
        help="one single-page terms in N is declared with executeClientScripts (Chromium); 0: none",
    )
    parser.add_argument(
        "--aim",
        choices=("mixed", "moment", "publishing", "repack"),
        default="mixed",
        help="when kills come: at a drawn moment, or at a drawn moment and then as soon as a step of "
        "publishing a batch or of merging packs is seen; mixed (default): some of each",
    )
    parser.add_argument("--keep", type=Path, help="keep the collection and repositories in this folder")
    parser.add_argument(
        "--check", type=Path, metavar="DIR", help="only run the final checks on a kept folder"
    )
    parser.add_argument("--max-seconds", type=float, default=7200, help="the server stops after this")
    parser.add_argument(
        "--full-disk",
        action="store_true",
        help="instead of kills: the snapshots on a small tmpfs that fills up (bench/faults_disk.py)",
    )
    parser.add_argument("--disk-size", default="1m", help="the tmpfs's size for --full-disk [1m]")
    args = parser.parse_args(argv)
    if args.check is not None:
        problems, figures = check_archive(args.check, render)
        for problem in problems:
            print(f"  - {problem}")
        print(f"{figures.get('checks', 0)} checks: " + ("every check passed" if not problems else "FAILED"))
        return 1 if problems else 0
    if args.seed is None:
        args.seed = random.SystemRandom().randrange(2**32)
    root = args.keep or Path(tempfile.mkdtemp(prefix="ota-faults-"))
    if args.keep and root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        if args.full_disk:
            from faults_disk import full_disk

            return full_disk(root.absolute(), args)
        return experiment(root.absolute(), args, random.Random(args.seed))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
