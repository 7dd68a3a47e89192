"""`ota verify`: re-derive every version from the snapshots it cites and the declaration then in force.

Every version is a pure function of the snapshots it cites and the declaration in force at its
date, so anyone holding the three repositories can check it. For each version commit:

1. its format, author, citations and date (`ota.verify.records`);
2. its text, extracted again from the cited snapshots with the declaration in force at its date
   (`ota.verify.declared`), byte for byte; a difference gets its most likely cause: another
   engine recorded it, a declaration of a date near it gives it, a JavaScript filter is needed;
3. while it is in force, every later declaration still gives it, or a technical upgrade follows
   (unless the tracker recorded nothing since the declaration changed).

Then every commit of both repositories: its author, its signature once signing started, the
date order of each file's records, and the trusted timestamps kept with them. The repositories are
only read (`RepositoryReader`); the extraction runs in child processes on every core
(`ota.tracking.pool.ExtractionPool`).
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ota.declarations import STANDARD_TERMS_TYPES, SourceDocument
from ota.declarations.collection import FilterFiles, load_collection
from ota.errors import OtaError, SettingsError
from ota.extract import PDF_MIME_TYPE, SOURCE_DOCUMENTS_SEPARATOR
from ota.fetch.browser import Browser
from ota.fetch.filterruns import FilterRuns
from ota.fetch.jsfilters import JsFilterTabs
from ota.fetch.jsprefilter import JavaScriptPrefilter
from ota.fetch.pdftext import PdfTextPrefilter, PdfTextReader, Prefilter
from ota.settings import Settings
from ota.store.declared import DeclarationsHistory
from ota.store.reader import Change, CommitInfo, RepositoryReader
from ota.store.records import parse_snapshot_path, parse_version_path
from ota.store.signing import AllowedSigners
from ota.store.timestamps import load_roots
from ota.tracking.pool import Extract, ExtractionPool, Source
from ota.verify.commits import check_commits
from ota.verify.declared import Declarations, Declared
from ota.verify.findings import Check, Finding, Severity, VerifyReport, change_finding, difference
from ota.verify.records import (
    VersionCommit,
    check_citations,
    check_format,
    check_order,
    read_version,
)
from ota.verify.timestamps import check_timestamps


@dataclass(frozen=True)
class Selection:
    """Which versions to check: services, terms types (empty: all) and the earliest date."""

    services: frozenset[str] = frozenset()
    terms_types: frozenset[str] = frozenset()
    since: datetime | None = None

    def wants(self, path: str) -> bool:
        parts = parse_version_path(path) if path.endswith(".md") else parse_snapshot_path(path)
        if parts is None:
            return not self.services and not self.terms_types
        service_id, terms_type = parts
        return (not self.services or service_id in self.services) and (
            not self.terms_types or terms_type in self.terms_types
        )


async def verify_archive(
    settings: Settings,
    *,
    selection: Selection = Selection(),
    on_total: Callable[[int], None] | None = None,
    on_progress: Callable[[], None] | None = None,
    now: datetime | None = None,
) -> VerifyReport:
    """Check the versions (and both repositories' commits) named by `settings`.

    Raises RecordError when a repository cannot be read, DeclarationError when the declarations
    folder is missing, SettingsError for a selection that names nothing or an unusable allowed
    signers file: nothing could be checked then.
    """
    started = time.monotonic()
    now = now or datetime.now(UTC)
    snapshots = RepositoryReader.open(settings.collection.snapshots)
    versions = RepositoryReader.open(settings.collection.versions)
    allowed = (
        AllowedSigners.load(settings.recorder.allowed_signers) if settings.recorder.allowed_signers else None
    )
    types = (*STANDARD_TERMS_TYPES, *settings.collection.terms_types)
    collection = load_collection(settings.collection.declarations, terms_types=types)
    history = DeclarationsHistory.open(settings.collection.declarations)
    report = VerifyReport(accept_explained=settings.verify.accept_explained, strict=settings.verify.strict)
    bot = (settings.recorder.author_name, settings.recorder.author_email)

    # The two history indexes are built by `git log`, in parallel: on a long history, the longest step.
    await asyncio.gather(asyncio.to_thread(snapshots.changes), asyncio.to_thread(versions.changes))
    version_changes = [c for c in versions.changes() if selection.wants(c.path)]
    to_check = [
        c
        for c in version_changes
        if c.blob_id is not None
        and parse_version_path(c.path) is not None
        and (selection.since is None or c.date >= selection.since)
    ]
    if (selection.services or selection.terms_types) and not to_check:
        raise SettingsError(
            f"{settings.collection.versions}: no version of the selected services and terms types"
        )
    if on_total is not None:
        on_total(len(to_check))

    roots = load_roots(settings.timestamps.certificates) if settings.timestamps.certificates else None
    # Commits first: who made them, their signatures, and when ota last recorded anything.
    activity, infos = check_commits(
        report, {"snapshots": snapshots, "versions": versions}, bot=bot, allowed=allowed, selection=selection
    )
    check_timestamps(report, {"snapshots": snapshots, "versions": versions}, roots)
    snapshot_changes = snapshots.changes()
    by_snapshot: dict[str, list[Change]] = defaultdict(list)
    for change in snapshot_changes:
        by_snapshot[change.commit_id].append(change)
    _check_snapshot_order(report, [c for c in snapshot_changes if selection.wants(c.path)], now)

    files_per_commit: dict[str, int] = defaultdict(int)
    for change in versions.changes():
        files_per_commit[change.commit_id] += 1

    with tempfile.TemporaryDirectory(prefix="ota-verify-") as scratch:
        declarations = Declarations(
            collection, history, Path(scratch), terms_types=settings.collection.terms_types
        )
        pool = ExtractionPool.from_settings(settings)
        # PDFs are read by pdf.js and OTA's JavaScript filters run in a headless Chromium, started
        # only if a version needs it; the pages are loaded from the snapshots, with no network.
        browser = Browser(
            settings.fetch.browser_path,
            user_agent=settings.fetch.user_agent,
            accept_language=settings.fetch.accept_language,
            sandbox=settings.fetch.browser_sandbox,
        )
        # A version's pages come from several origins (combined terms), whose runners are kept:
        # 4 tabs, the number of origins genai-eu's filtered pages come from (each is a renderer).
        tabs = JsFilterTabs(browser, size=max(1, min(2, settings.track.extract_workers)), keep=4)
        pdfs = PdfTextReader(browser, timeout=settings.track.extract_timeout)
        checker = _VersionChecker(
            report=report,
            versions=versions,
            infos=infos,
            snapshots=snapshots,
            by_snapshot=by_snapshot,
            declarations=declarations,
            extract=pool,
            prefilter=PdfTextPrefilter(
                pdfs,
                then=JavaScriptPrefilter(tabs, timeout=settings.track.extract_timeout, runs=FilterRuns()),
            ),
            engine=settings.recorder.engine_version,
            browser_missing=lambda: browser.unavailable,
            activity=activity,
            now=now,
            in_flight=4 * max(1, settings.track.extract_workers),
        )
        try:
            await checker.run(
                version_changes, set(id(c) for c in to_check), files_per_commit, bot, on_progress
            )
        finally:
            checker.snapshot_blobs.close()
            await pool.close()
            await tabs.aclose()
            await pdfs.aclose()
            await browser.aclose()
    report.seconds = time.monotonic() - started
    return report


def _check_snapshot_order(report: VerifyReport, changes: Iterable[Change], now: datetime) -> None:
    previous: dict[str, Change] = {}
    for change in changes:
        if change.blob_id is None:
            previous.pop(change.path, None)
            continue
        for finding in check_order(previous.get(change.path), change, now, repository="snapshots"):
            report.add(finding)
        previous[change.path] = change


class _VersionChecker:
    """Checks the versions one terms file after another, extracting many at once."""

    def __init__(
        self,
        *,
        report: VerifyReport,
        versions: RepositoryReader,
        infos: dict[str, CommitInfo],
        snapshots: RepositoryReader,
        by_snapshot: dict[str, list[Change]],
        declarations: Declarations,
        extract: Extract,
        prefilter: Prefilter | None = None,
        engine: str,
        browser_missing: Callable[[], str | None] = lambda: None,
        activity: list[datetime],
        now: datetime,
        in_flight: int,
    ) -> None:
        self.report = report
        self.versions = versions
        self.infos = infos
        self.snapshots = snapshots
        self.by_snapshot = by_snapshot
        self.snapshot_ids = sorted(by_snapshot)
        self.snapshot_blobs = snapshots.blob_stream()
        self.declarations = declarations
        self.extract = extract
        self.prefilter = prefilter
        self.engine = engine
        self.browser_missing = browser_missing
        self.activity = activity
        self.now = now
        self.in_flight = in_flight
        #: Each source document's extraction from each snapshot, by what it depends on.
        self._extracted: dict[tuple[object, ...], asyncio.Future[str]] = {}
        self._digests: dict[Path, str] = {}

    async def run(
        self,
        changes: list[Change],
        wanted: set[int],
        files_per_commit: dict[str, int],
        bot: tuple[str, str],
        on_progress: Callable[[], None] | None,
    ) -> None:
        by_path: dict[str, list[Change]] = defaultdict(list)
        for change in changes:
            by_path[change.path].append(change)
        slots = asyncio.Semaphore(self.in_flight)
        running: set[asyncio.Task[None]] = set()
        trailers_seen = False
        for change in changes:  # in commit order: "trailers seen" means "by an earlier version"
            if change.blob_id is None or id(change) not in wanted:
                continue
            history = by_path[change.path]
            position = history.index(change)
            previous = history[position - 1] if position else None
            following = history[position + 1] if position + 1 < len(history) else None
            info = self.infos.get(change.commit_id)
            if info is None:  # listed by the log, so present: a repository changed under our feet
                continue
            version = read_version(change, info)
            self.report.versions_checked += 1
            self.report.version_ids.setdefault(change.commit_id, set()).add(change.path)
            first = previous is None or previous.blob_id is None
            for finding in check_format(
                version,
                files_changed=files_per_commit[change.commit_id],
                first=first,
                trailers_seen=trailers_seen,
                author=bot,
            ):
                self.report.add(finding)
            for finding in check_order(previous if not first else None, change, self.now):
                self.report.add(finding)
            trailers_seen = trailers_seen or version.by_ota
            await slots.acquire()
            task = asyncio.ensure_future(self._reproduce(version, following))
            running.add(task)

            def done(task: asyncio.Task[None]) -> None:
                slots.release()
                running.discard(task)
                if on_progress is not None:
                    on_progress()

            task.add_done_callback(done)
        if running:
            await asyncio.gather(*running)

    async def _reproduce(self, version: VersionCommit, following: Change | None) -> None:
        change = version.change
        declared = self.declarations.in_force(version.service_id, version.terms_type, change.date)
        combined = declared.terms.combined if declared.terms is not None else len(version.snapshot_ids) > 1
        findings, cited = check_citations(version, self.by_snapshot, combined, self.snapshot_ids)
        for finding in findings:
            self.report.add(finding)
        if len(cited) != len(version.snapshot_ids) or not cited:
            return  # what is missing was reported: there is nothing to extract
        expected = self.versions.blob(change.blob_id) if change.blob_id else b""
        markdown, error = await self._extract(declared, cited)
        if markdown is not None and markdown.encode("utf-8") == expected:
            await self._check_upgrades(version, cited, declared, expected, following)
            return
        if declared.javascript_filters and markdown is None and "needs the JavaScript filter" in error:
            self._explained(
                version,
                "is not what the declaration gives without its JavaScript filters",
                f"needs the JavaScript filter {', '.join(sorted(declared.javascript_filters))}",
            )
            return
        if markdown is None and self.browser_missing() is not None:
            needs = _needs_browser(declared, cited)
            if needs is not None:
                self._explained(version, f"cannot be extracted again here: {error}", needs)
                return
        what = (
            f"extracting it again failed: {error}"
            if markdown is None
            else (
                f"is not what its snapshots give with the declaration in force ({declared.origin}): "
                f"{difference(expected.decode('utf-8', 'replace'), markdown)}"
            )
        )
        for other in self.declarations.near(version.service_id, version.terms_type, change.date):
            if other.key == declared.key or other.terms is None:
                continue
            candidate, _ = await self._extract(other, cited)
            if candidate is not None and candidate.encode("utf-8") == expected:
                if other.since is not None:  # a commit of the declarations repository
                    cause = f"a declaration change near that date: {other.origin} gives it"
                else:
                    cause = f"the declaration of {other.origin} gives it"
                self._explained(version, what, cause)
                return
        if version.engine is not None and version.engine != self.engine:
            engine = version.engine if version.by_ota else f"Open Terms Archive's engine {version.engine}"
            self._explained(version, what, f"recorded by {engine}, not {self.engine}")
            return
        if version.engine is None:
            self._explained(version, what, "recorded by an engine that did not name itself")
            return
        hint = None
        if not self.declarations.versioned:
            service = version.service_id
            hint = (
                "the declarations folder is not a git repository: if the declaration changed after this "
                f"version, add the entry in force then to {service}.history.json with its validUntil "
                "(ota track does so since it keeps the declarations in force), or verify with the "
                "declarations' git history"
            )
            if declared.filters_path is not None:
                hint += (
                    f"; the service's filters ({declared.filters_path.name}) may have changed too, and "
                    "their history is kept nowhere but in git"
                )
        self.report.add(self._finding(version, "reproduction", what, "unexplained", hint))

    async def _check_upgrades(
        self,
        version: VersionCommit,
        cited: list[Change],
        declared: Declared,
        expected: bytes,
        following: Change | None,
    ) -> None:
        """While this version is in force, a declaration that gives another text calls for an upgrade."""
        end = following.date if following is not None else None
        for later in self.declarations.changes(
            version.service_id, version.terms_type, version.change.date, end
        ):
            if later.since is None:
                continue
            since = later.since
            position = bisect.bisect_right(self.activity, since)
            ran = position < len(self.activity) and (end is None or self.activity[position] < end)
            if not ran and following is not None:
                continue  # the next version is the first thing ota recorded since: it took the change in
            markdown, _ = await self._extract(later, cited)
            if markdown is None or markdown.encode("utf-8") == expected:
                continue  # the tracker could not extract either (the terms failed) or nothing changed
            message = (
                f"the declaration changed on {since:%Y-%m-%d %H:%M} ({later.origin}) and gives another text "
                "from the same snapshots, but no technical upgrade was recorded"
            )
            if ran:
                message += " though ota recorded others since"
                self.report.add(self._finding(version, "upgrade", message))
            else:
                cause = "ota has recorded nothing since"
                self.report.add(self._finding(version, "upgrade", message, "explained", cause))
            return

    async def _extract(self, declared: Declared, cited: list[Change]) -> tuple[str | None, str]:
        """The Markdown of the cited snapshots with `declared`, or None and why not."""
        terms = declared.terms
        if terms is None:
            return None, declared.error
        if declared.javascript_filters and (self.prefilter is None or declared.javascript_path is None):
            return None, f"needs the JavaScript filter {', '.join(sorted(declared.javascript_filters))}"
        by_document: dict[str | None, Change] = {}
        for snapshot in cited:
            name = snapshot.path.rsplit("/", 1)[-1]
            document_id = name.split(" #", 1)[1].rsplit(".", 1)[0] if " #" in name else None
            by_document[document_id if terms.combined else None] = snapshot
        wanted = [document.id if terms.combined else None for document in terms.documents]
        if sorted(map(str, by_document)) != sorted(map(str, wanted)):
            return None, (
                f"its {len(terms.documents)} source documents ({declared.origin}) are not the "
                f"{len(cited)} snapshots it cites"
            )
        parts = []
        try:
            for document, document_id in zip(terms.documents, wanted, strict=True):
                snapshot = by_document[document_id]
                parts.append(self._document(declared, document, snapshot))
            return SOURCE_DOCUMENTS_SEPARATOR.join(await asyncio.gather(*parts)), ""
        except OtaError as error:
            return None, str(error)

    def _document(self, declared: Declared, document: SourceDocument, snapshot: Change) -> Awaitable[str]:
        """The Markdown of one source document from one snapshot, extracted once per run.

        A terms' Markdown is its documents' Markdown joined, so a combined terms whose versions
        share most of their snapshots, a technical upgrade citing the snapshots of the version
        before it, and the declarations tried to explain a difference extract only what differs.
        """
        assert snapshot.blob_id is not None
        javascript = (
            (declared.javascript_path, declared.javascript_names)
            if declared.javascript_filters and self.prefilter is not None
            else None
        )
        # Filters files by content: an old commit's copy and the folder's file are often the same.
        key = (
            repr(document),
            snapshot.blob_id,
            self._content_key(declared.filters_path),
            javascript and (self._content_key(javascript[0]), repr(sorted(javascript[1]))),
        )
        found = self._extracted.get(key)
        if found is None:
            found = asyncio.ensure_future(self._extract_document(declared, document, snapshot))
            # A failure is reported by whoever awaits it; one nobody awaits again is not logged.
            found.add_done_callback(lambda done: done.cancelled() or done.exception())
            self._extracted[key] = found
        return found

    def _content_key(self, path: Path | None) -> str | None:
        """A digest of a filters file's content, read once per path (None: no file)."""
        if path is None:
            return None
        if path not in self._digests:
            try:
                self._digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                self._digests[path] = str(path)  # extraction reports what is wrong with it
        return self._digests[path]

    async def _extract_document(self, declared: Declared, document: SourceDocument, snapshot: Change) -> str:
        assert snapshot.blob_id is not None
        mime = PDF_MIME_TYPE if snapshot.path.lower().endswith(".pdf") else "text/html"
        content = await asyncio.to_thread(self.snapshot_blobs.read, snapshot.blob_id)
        sources: list[Source] = [(document, content, mime)]
        files = FilterFiles()
        script = declared.javascript_path
        if declared.javascript_filters and script is not None:
            files = FilterFiles(javascript=script, javascript_names=declared.javascript_names)
        if self.prefilter is not None:  # PDFs read by pdf.js, JavaScript filters: when needed
            sources = await self.prefilter(sources, files)
        return await self.extract(sources, declared.filters_path)

    def _explained(self, version: VersionCommit, message: str, cause: str) -> None:
        self.report.add(self._finding(version, "reproduction", message, "explained", cause))

    @staticmethod
    def _finding(
        version: VersionCommit,
        check: Check,
        message: str,
        severity: Severity = "unexplained",
        cause: str | None = None,
    ) -> Finding:
        return change_finding(version.change, check, message, severity, cause)


def _needs_browser(declared: Declared, cited: list[Change]) -> str | None:
    """What Chromium is needed for to extract a version again, if anything (the cause, when missing)."""
    if any(snapshot.path.lower().endswith(".pdf") for snapshot in cited):
        return "PDF text needs Chromium's pdf.js, not available here"
    if declared.javascript_filters:
        return "JavaScript filters need Chromium, not available here"
    return None
