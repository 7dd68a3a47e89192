"""The checks of bench/faults.py: after each kill, and on the archive at the end.

Every check returns problems in words (an empty list: it passed). The archive checks read the
repositories with pygit2 and compare them with what the generated site served (`served.json`,
which bench/faults.py writes), never with what ota says about itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pygit2
from pygit2.enums import DeltaStatus, SortMode

from ota.declarations import SourceDocument, Terms
from ota.declarations.collection import CollectionReader
from ota.extract import PDF_MIME_TYPE, PDF_TEXT_MIME_TYPE
from ota.extract import extract_terms as extract_read_terms
from ota.fetch.browser import Browser
from ota.fetch.pdftext import PdfTextReader
from ota.store.records import cited_snapshot_ids, snapshot_path, version_path

#: How long the processes of a killed run get to be gone (seconds), however they die.
SURVIVOR_GRACE = 2.0
#: How long no process of a killed run may be seen dying before those left are called survivors.
QUIET = 0.02
#: How long Chromium's processes get to be gone after a kill (seconds). Playwright starts Chromium
#: in a session of its own, out of the run's: ota makes it die with the driver, and the driver with
#: ota (the parent-death signal); their last process is gone within milliseconds.
BROWSER_GRACE = 2.0
#: Signals that, pending, mean a process is about to die (in /proc/PID/status's SigPnd, ShdPnd).
_DEATH_BITS = (1 << (signal.SIGKILL - 1)) | (1 << (signal.SIGTERM - 1))
_PF_EXITING = 0x4  # in /proc/PID/stat's flags: the process is exiting
BOT = "Open Terms Archive Bot <bot@opentermsarchive.org>"
REPOSITORIES = ("snapshots", "versions")


class _PdfTexts:
    """pdf.js's text of PDFs, read in one Chromium for all the checks, as `ota track` reads them."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._browser: Browser | None = None
        self._reader: PdfTextReader | None = None
        self._texts: dict[str, bytes] = {}

    def read(self, content: bytes, location: str) -> bytes:
        key = hashlib.sha256(content).hexdigest()
        if key not in self._texts:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._browser = Browser(user_agent="ota faults checks", accept_language="en")
                self._reader = PdfTextReader(self._browser)
            assert self._reader is not None
            self._texts[key] = self._loop.run_until_complete(self._reader.read(content, location=location))
        return self._texts[key]

    def close(self) -> None:
        if self._loop is not None and self._reader is not None and self._browser is not None:
            self._loop.run_until_complete(self._reader.aclose())
            self._loop.run_until_complete(self._browser.aclose())
            self._loop.close()
            self._loop = None


_PDF_TEXTS = _PdfTexts()


def extract_terms(sources: list[tuple[SourceDocument, bytes, str]]) -> str:
    """The Markdown `ota track` records for these sources: its PDFs read by pdf.js."""
    return extract_read_terms(
        [
            (document, _PDF_TEXTS.read(content, document.location), PDF_TEXT_MIME_TYPE)
            if mime == PDF_MIME_TYPE
            else (document, content, mime)
            for document, content, mime in sources
        ]
    )


def session_processes(session: int) -> dict[int, str]:
    """The live processes of a session (pid → command line); zombies are dead and left out."""
    return {pid: command for pid, (command, _) in _session(session).items()}


#: How ota runs git from the recording process (`ota.store.folder._KILL_GROUP_ON_TERM`): a shell
#: that kills its process group (git and its children) when the kernel signals it that the
#: recording process died.
GIT_WRAPPER = 'sh -c trap "kill -KILL 0" TERM;'


def _live_processes() -> Iterator[tuple[int, list[str]]]:
    """Each live process (zombies are dead) with the fields of /proc/PID/stat after its name
    (fields[0] its state, [1] its parent, [2] its group, [3] its session, [6] its flags)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields and fields[0] not in "ZX":
            yield int(entry), fields


def _command(pid: int) -> str:
    """A process's command line (OSError once it is gone)."""
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode(errors="replace").strip()


def _session(session: int) -> dict[int, tuple[str, bool]]:
    """pid → (command line, whether it is dying) of a session's live processes. Dying: SIGKILL or
    SIGTERM pending, or exiting; or in the process group of a git wrapper whose parent died (the
    kernel signalled the wrapper as it reparented it; once that signal is delivered, nothing
    pending shows while the shell runs its trap, which kills the group)."""
    found: dict[int, tuple[str, bool, int, int]] = {}  # pid → (command, dying, parent, group)
    for pid, fields in _live_processes():
        try:
            if int(fields[3]) != session:
                continue
            with open(f"/proc/{pid}/status") as f:
                status = dict(line.split(":", 1) for line in f if ":" in line)
            pending = int(status["SigPnd"], 16) | int(status["ShdPnd"], 16)
            dying = bool(pending & _DEATH_BITS) or bool(int(fields[6]) & _PF_EXITING)
            found[pid] = (_command(pid), dying, int(fields[1]), int(fields[2]))
        except (OSError, ValueError, IndexError, KeyError):
            continue
    orphaned_groups = {
        group
        for pid, (command, _, parent, group) in found.items()
        if command.startswith(GIT_WRAPPER) and parent not in found
    }
    return {
        pid: (command, dying or group in orphaned_groups) for pid, (command, dying, _, group) in found.items()
    }


def browser_processes(session: int, members: dict[int, str]) -> dict[int, str]:
    """The Chromium processes of a run (pid → command line): the sessions of the run's children
    that left its session (Chromium, which Playwright starts with `setsid`), and the processes whose
    command line names the run's Chromium home (`ota-chromium-SESSION-`: its crash handlers)."""
    marker = f"ota-chromium-{session}-"
    sessions: set[int] = set()
    stats: dict[int, tuple[int, int, str]] = {}  # pid → (ppid, session, command line)
    for pid, fields in _live_processes():
        try:
            command = _command(pid)
        except OSError:
            continue
        ppid, sid = int(fields[1]), int(fields[3])
        stats[pid] = (ppid, sid, command)
        if ppid in members and sid != session:
            sessions.add(sid)
    return {
        pid: command
        for pid, (_, sid, command) in stats.items()
        if sid in sessions or (marker in command and sid != session)
    }


def browsers_gone(browsers: dict[int, str], killed_at: float) -> tuple[list[str], float]:
    """Wait for a killed run's Chromium processes to be gone; the problems and how long it took.
    Those still there after `BROWSER_GRACE` are survivors (then killed, for the experiment to go on)."""
    left = dict(browsers)
    while left and time.monotonic() < killed_at + BROWSER_GRACE:
        left = {pid: command for pid, command in left.items() if _alive(pid)}
        if left:
            time.sleep(0.005)
    outlived = time.monotonic() - killed_at if browsers else 0.0
    if not left:
        return [], outlived
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    listed = "; ".join(f"{pid}: {command[:200]}" for pid, command in left.items())
    return [f"{len(left)} Chromium processes outlived the kill by {BROWSER_GRACE:.0f} s: {listed}"], outlived


def _alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in "ZX"
    except (OSError, IndexError):
        return False


def fsck(repo: Path) -> list[str]:
    """`git fsck --strict` of a repository: clean, or its complaints (dangling objects are fine)."""
    if not (repo / ".git").exists():
        return []  # not created yet: the kill came before; the next run creates it
    result = subprocess.run(
        [
            "git",
            "--git-dir",
            str(repo / ".git"),
            "--work-tree",
            str(repo),
            "fsck",
            "--strict",
            "--no-dangling",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    complaints = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line and not line.startswith("notice:")
    ]
    if result.returncode != 0 or complaints:
        return [f"git fsck --strict in {repo.name} ({result.returncode}): {' | '.join(complaints)[:2000]}"]
    return []


def locks_free(repo: Path) -> list[str]:
    """Whether ota's lock of a repository can be taken: a process holding it would stop the next run."""
    path = repo / ".git" / "ota-lock"
    if not path.exists():
        return []
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return [f"{repo.name}: ota-lock still held after the kill (pid {path.read_text().strip() or '?'})"]
    finally:
        os.close(fd)  # releases the lock if it was taken
    return []


@dataclass
class AfterKill:
    """What `check_after_kill` found."""

    problems: list[str]
    #: How long the run's last process outlived the kill (seconds).
    outlived: float
    #: Workers that were still starting when their parent was killed, gone by themselves since.
    starting_workers: int


def check_after_kill(
    root: Path, session: int, members: dict[int, str], target: str, killed_at: float
) -> AfterKill:
    """No process of the killed run left, both repositories' locks free, `git fsck --strict` clean.

    Called once the tracking process is reaped (`killed_at`: when the kill was sent, by
    `time.monotonic()`). Its children die in a chain (the kernel signals each one whose parent
    died, if it asked to be: `PR_SET_PDEATHSIG`), each dying process showing a pending SIGKILL or
    SIGTERM or the exiting flag; processes of the session still there once no death has been in
    progress for `QUIET` seconds were not killed and work on by themselves, however soon they
    finish. One exception: an `ota.worker` of the killed process that was still starting (its
    interpreter loading) asks for the signal once loaded, finds its parent gone and exits then,
    having done nothing; it gets `SURVIVOR_GRACE`, as every process does.
    """
    problems = []
    survivors: dict[int, str] = {}
    starting: set[int] = set()
    quiet_since: float | None = None
    worker = f"-m ota.worker --parent {session}"
    while processes := _session(session):
        now = time.monotonic()
        # Initialised workers are dying by now: those that are not have not asked for the signal yet.
        starting |= {pid for pid, (command, dying) in processes.items() if worker in command and not dying}
        others = {pid: (command, dying) for pid, (command, dying) in processes.items() if pid not in starting}
        if any(dying for _, dying in others.values()):
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        if now > killed_at + SURVIVOR_GRACE:
            survivors.update({pid: command for pid, (command, _) in processes.items()})
            break
        if others and quiet_since is not None and now - quiet_since >= QUIET:
            survivors.update({pid: command for pid, (command, _) in others.items()})
            for pid in others:  # said below; the starting workers still get their grace
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.002)
    outlived = time.monotonic() - killed_at
    if survivors:
        listed = "; ".join(f"{pid}: {command[:200]}" for pid, command in survivors.items())
        problems.append(
            f"{len(survivors)} processes outlived the kill of the {target} "
            f"({len(members)} in the session before it), not killed with it: {listed}"
        )
        for pid in survivors:  # so that the experiment can go on
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    for name in REPOSITORIES:
        problems += locks_free(root / name) + fsck(root / name)
    return AfterKill(problems, outlived, len(starting - set(survivors)))


def status_clean(repo: Path) -> list[str]:
    result = subprocess.run(
        ["git", "--git-dir", str(repo / ".git"), "--work-tree", str(repo), "status", "--porcelain"],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0 or result.stdout.strip():
        return [
            f"git status --porcelain in {repo.name} is not empty: {(result.stdout + result.stderr)[:1000]}"
        ]
    return []


def leftovers(repo: Path) -> list[str]:
    """Markers and temporary files ota removes when it closes a repository."""
    gitdir = repo / ".git"
    found = [
        name
        for name in ("ota-publishing", "ota-session", "index.lock", "HEAD.lock")
        if (gitdir / name).exists()
    ]
    found += [f"ota-tmp/{p.name}" for p in (gitdir / "ota-tmp").glob("*")]
    pack = gitdir / "objects" / "pack"
    found += [f"objects/pack/{p.name}" for p in (*pack.glob("tmp_*"), *pack.glob(".tmp-*"))]
    found += [p.name for p in (gitdir / "refs" / "ota").glob("*")]
    return [f"{repo.name}: left behind: {', '.join(found)}"] if found else []


# -- the archive -------------------------------------------------------------------------------------


class History:
    """A repository's commits, oldest first, each with the one file it changed (or the problem)."""

    def __init__(self, repo: Path) -> None:
        self.git = pygit2.Repository(str(repo))
        self.name = repo.name
        self.problems: list[str] = []
        #: path → [(commit id, blob id)], oldest first.
        self.changes: dict[str, list[tuple[str, str]]] = {}
        self.commits: dict[str, pygit2.Commit] = {}
        if self.git.head_is_unborn:
            return
        for commit in self.git.walk(self.git.head.target, SortMode.TOPOLOGICAL | SortMode.REVERSE):
            self._add(commit)

    def _add(self, commit: pygit2.Commit) -> None:
        short = f"{self.name} commit {str(commit.id)[:12]}"
        self.commits[str(commit.id)] = commit
        if len(commit.parents) > 1:
            self.problems.append(f"{short} is a merge")
        author = f"{commit.author.name} <{commit.author.email}>"
        if author != BOT:
            self.problems.append(f"{short} is by {author}")
        if commit.parents:
            deltas = list(commit.parents[0].tree.diff_to_tree(commit.tree).deltas)
        else:
            deltas = list(commit.tree.diff_to_tree(swap=True).deltas)
        if len(deltas) != 1 or deltas[0].status not in (DeltaStatus.ADDED, DeltaStatus.MODIFIED):
            what = ", ".join(f"{d.status.name} {d.new_file.path}" for d in deltas) or "nothing"
            self.problems.append(f"{short} ({commit.message.splitlines()[0]!r}) changes {what}, not one file")
            return
        path, blob = deltas[0].new_file.path, str(deltas[0].new_file.id)
        changes = self.changes.setdefault(path, [])
        if changes and changes[-1][1] == blob:  # cannot happen with git's diff; said if it ever does
            self.problems.append(f"{short} records {path} with the bytes it already had")
        changes.append((str(commit.id), blob))

    def content(self, blob: str) -> bytes:
        return self.git[blob].read_raw()

    def at(self, commit_id: str, path: str) -> bytes | None:
        try:
            return self.git[commit_id].peel(pygit2.Tree)[path].read_raw()  # type: ignore[no-any-return]
        except (KeyError, ValueError):
            return None

    def unreachable_commits(self) -> int:
        """Commits in the object store that the branch does not reach (written by a killed run)."""
        listed = subprocess.run(
            ["git", "--git-dir", self.git.path, "cat-file", "--batch-all-objects", "--batch-check"],
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        every = {line.split()[0] for line in listed if line.endswith(" commit") or " commit " in line}
        return len(every - set(self.commits))


def is_subsequence(recorded: list[bytes], served: list[bytes]) -> bool:
    remaining = iter(served)
    return all(any(item == candidate for candidate in remaining) for item in recorded)


class Checks:
    """Counts the checks made and keeps the problems of those that failed: `check(ok, problem)`."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.count = 0

    def __call__(self, ok: bool, problem: str) -> None:
        self.count += 1
        if not ok:
            self.problems.append(problem)


def check_archive(
    root: Path, render: Callable[[str, bool, tuple[int, int]], bytes]
) -> tuple[list[str], dict[str, int]]:
    """Every check of the archive at the end; returns the problems and figures (commits, checks).

    `render` gives the bytes a page served in a state, as logged in `served.json`."""
    check = Checks()
    problems = check.problems  # the same list: problems found otherwise are added to it

    log = json.loads((root / "served.json").read_text("utf-8"))
    served: dict[str, list[bytes]] = {}  # page name → what it served, consecutive states collapsed
    for name, entries in log["served"].items():
        served[name] = []
        for _, text, noise, digest in entries:
            content = render(name, log["documents"][name]["pdf"], (text, noise))
            check(hashlib.sha256(content).hexdigest() == digest, f"{name}: re-rendering differs")
            if not served[name] or served[name][-1] != content:
                served[name].append(content)
    collection = CollectionReader(root / "declarations").load()
    terms_list = [t for service in collection.services.values() for t in service.terms.values()]
    invalid = [f"{s.id} {t}" for s in collection.services.values() for t in s.invalid]
    check(not collection.errors and not invalid, f"declarations: {collection.errors} {invalid}")

    def page_of(document: SourceDocument) -> str:
        return document.location.rsplit("/", 1)[1]

    def rendered(document: SourceDocument) -> bool:
        """Fetched by Chromium: its snapshots are the DOM as Chromium serialises it, not the bytes
        served, so they are compared with what was served by their extraction."""
        return bool(log["documents"][page_of(document)].get("browser"))

    def collapsed(document: SourceDocument, pages: list[bytes]) -> list[bytes]:
        texts: list[bytes] = []
        for page in pages:
            text = extract_terms([(document, page, "text/html")]).encode()
            if not texts or texts[-1] != text:
                texts.append(text)
        return texts

    def mime(document: SourceDocument) -> str:
        return PDF_MIME_TYPE if page_of(document).endswith(".pdf") else "text/html"

    for name in REPOSITORIES:
        problems += fsck(root / name) + status_clean(root / name) + leftovers(root / name)
        check.count += 3
    snapshots, versions = History(root / "snapshots"), History(root / "versions")
    problems += snapshots.problems + versions.problems
    check.count += len(snapshots.commits) + len(versions.commits)

    expected_snapshots, expected_versions = set(), set()
    for terms in terms_list:
        for document in terms.documents:
            path = snapshot_path(terms, document, mime(document))
            expected_snapshots.add(path)
            recorded = [snapshots.content(blob) for _, blob in snapshots.changes.get(path, [])]
            check(bool(recorded), f"{path}: no snapshot")
            if not recorded:
                continue
            pages = served[page_of(document)]
            if rendered(document):
                recorded, pages = collapsed(document, recorded), collapsed(document, pages)
            check(recorded[-1] == pages[-1], f"{path}: latest snapshot is not what is served now")
            check(
                is_subsequence(recorded, pages),
                f"{path}: snapshots not all served, or not in the order served ({len(recorded)} recorded)",
            )
        path = version_path(terms)
        expected_versions.add(path)
        changes = versions.changes.get(path, [])
        check(bool(changes), f"{path}: no version")
        if not changes:
            continue
        current = extract_terms([(d, served[page_of(d)][-1], mime(d)) for d in terms.documents])
        check(
            versions.content(changes[-1][1]).decode() == current,
            f"{path}: latest version is not the extraction of the current pages",
        )
        for commit_id, blob in changes:
            problems_before = len(problems)
            check_version(terms, commit_id, versions.content(blob), versions, snapshots, mime, check)
            if len(problems) > problems_before:
                break  # one problem per terms is enough to find the cause
    check(
        set(snapshots.changes) <= expected_snapshots,
        f"snapshots of no document: {set(snapshots.changes) - expected_snapshots}",
    )
    check(
        set(versions.changes) <= expected_versions,
        f"versions of no terms: {set(versions.changes) - expected_versions}",
    )

    _PDF_TEXTS.close()  # no Chromium of these checks left running beside `ota verify`'s
    verified = subprocess.run(
        [sys.executable, "-m", "ota.cli", "verify", "--config", str(root / "ota.toml"), "--no-progress"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    check(
        verified.returncode == 0,
        f"ota verify exited with {verified.returncode}: {(verified.stdout + verified.stderr)[-2000:]}",
    )
    figures = {
        "snapshots": len(snapshots.commits),
        "versions": len(versions.commits),
        "unreachable": snapshots.unreachable_commits() + versions.unreachable_commits(),
        "checks": check.count,
    }
    return problems, figures


def check_version(
    terms: Terms,
    commit_id: str,
    content: bytes,
    versions: History,
    snapshots: History,
    mime: Callable[[SourceDocument], str],
    check: Callable[[bool, str], None],
) -> None:
    """A version cites one snapshot per document, on the branch, each recording that document, and
    is their extraction."""
    short = f"{version_path(terms)} at {commit_id[:12]}"
    cited = cited_snapshot_ids(versions.commits[commit_id].message)
    check(
        len(cited) == len(terms.documents),
        f"{short} cites {len(cited)} snapshots for {len(terms.documents)} documents",
    )
    sources = []
    for snapshot_id, document in zip(cited, terms.documents, strict=False):
        path = snapshot_path(terms, document, mime(document))
        on_branch = snapshot_id in snapshots.commits
        check(on_branch, f"{short} cites {snapshot_id[:12]}, which is not on the snapshots branch")
        recorded = any(commit == snapshot_id for commit, _ in snapshots.changes.get(path, []))
        check(recorded, f"{short} cites {snapshot_id[:12]}, which does not record {path}")
        page = snapshots.at(snapshot_id, path) if on_branch else None
        if page is None:
            return
        sources.append((document, page, mime(document)))
    if len(sources) == len(terms.documents):
        check(
            extract_terms(sources).encode() == content,
            f"{short} is not the extraction of the snapshots it cites",
        )
