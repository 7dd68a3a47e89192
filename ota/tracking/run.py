"""A tracking run built from settings: the collection, the two repositories, the fetcher, the
extraction processes; `ota.tracking.track.track` does the work, and each outcome is handed to the caller
as it happens and gathered into a `Report`. Logging the run and delivering its report is
`ota.tracking.launch`'s part.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ota.declarations import STANDARD_TERMS_TYPES, Terms
from ota.declarations.collection import CollectionReader, InvalidTerms
from ota.declarations.history import keep_declarations
from ota.errors import FetchError, OtaError, RecordError
from ota.extras import require
from ota.outcome import Outcome, Report, Stage
from ota.settings import Settings
from ota.store.extractions import ExtractionState
from ota.store.records import Recording
from ota.store.writer import Writer
from ota.tracking.pool import ExtractionPool
from ota.tracking.track import Clock, track, utc_now

if TYPE_CHECKING:
    from ota.declarations.collection import Collection


class StopRequest:
    """A request to stop a run, made by a signal handler (from any thread): `run_tracking` then
    starts no more terms, abandons those in progress, and publishes what was recorded."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        self.reason = self.reason or reason
        self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a request to stop; whether one was made."""
        return self._event.wait(timeout)


async def _watch(stop: StopRequest, stopping: asyncio.Event) -> None:
    """Set `stopping` on the loop once `stop` is requested (signal handlers may run elsewhere)."""
    while not stop.requested:
        await asyncio.sleep(0.1)
    stopping.set()


async def run_tracking(
    settings: Settings,
    *,
    services: Iterable[str] = (),
    terms_types: Iterable[str] = (),
    on_outcome: Callable[[Outcome], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    stop: StopRequest | None = None,
    now: Clock = utc_now,
) -> Report:
    """Track the selected terms of the collection named by `settings` once.

        `on_outcome` is called with each outcome as soon as it is known; `on_total` with the number
        of terms to track, when a selection makes it known before tracking starts; `stop` ends the run
        early, cleanly (`Report.interrupted` then says why); `now` gives every date the run records
    (snapshot and version commits, declaration history files). Raises SettingsError (an unknown service
        or terms type, an extra the settings need not installed), DeclarationError (no declarations
        folder) or RecordError (a repository that cannot be opened) before anything is recorded.
    """
    started = time.monotonic()
    started_at = now()
    # The optional dependencies the settings ask for, before anything is fetched.
    if settings.notify.urls:
        require("notify")
    if settings.timestamps.authority is not None:
        require("timestamps")
    services, terms_types = sorted(set(services)), sorted(set(terms_types))
    reader = CollectionReader(
        settings.collection.declarations,
        terms_types=(*STANDARD_TERMS_TYPES, *settings.collection.terms_types),
        services=services or None,  # a service selection reads only those declarations
    )
    selected: Iterable[Terms | InvalidTerms]
    collection: Collection | None = None
    if services or terms_types:  # a selection is checked before anything runs
        collection = reader.load()
        selected = collection.select(services, terms_types)
        if on_total is not None:
            on_total(len(selected))
    else:  # the whole collection: tracking starts while the declarations are still being read
        selected = reader.terms()
    report = Report()
    # The repositories are found and locked first; the recording process then opens them (recovery,
    # checks) while the first pages are fetched: one that cannot be opened still stops the run
    # before anything is recorded.
    name, email, key = (
        settings.recorder.author_name,
        settings.recorder.author_email,
        settings.recorder.signing_key,
    )
    if key is not None:
        from ota.store.signing import SshSigner  # cryptography, only for a collection that signs

        SshSigner.load(key)  # a key that cannot sign stops the run before anything is fetched
    snapshots, versions = await Writer.open_pair(
        settings.collection.snapshots,
        settings.collection.versions,
        author_name=name,
        author_email=email,
        signing_key=key,
    )
    fetcher = None
    try:
        # While the recording process starts, on the other core: the network stack is imported
        # and the fetcher made (its TLS context loads the certificate authorities named, if any).
        from ota.fetch import Fetcher

        fetcher = Fetcher(settings.fetch, now=now)
        # Both found and locked before the first request: a second run stops here, at once.
        await snapshots.held()
        await versions.held()
    except BaseException:
        if fetcher is not None:
            await fetcher.aclose()  # nothing opened yet: no connection, no browser
        for writer in (versions, snapshots):
            with contextlib.suppress(OtaError):
                await writer.close()
        raise
    opening = asyncio.ensure_future(_ready(snapshots, versions))
    extractor = ExtractionPool.from_settings(settings)
    state = ExtractionState.of(versions.path)
    stopping = asyncio.Event()
    watcher = asyncio.ensure_future(_watch(stop, stopping)) if stop is not None else None
    try:
        async with fetcher:
            outcomes = track(
                selected,
                fetch=fetcher.fetch_document,
                extract=extractor,
                snapshots=snapshots,
                versions=versions,
                state=state,
                recording=Recording(
                    settings.recorder.engine_version, settings.recorder.snapshot_link_template
                ),
                filter_files=reader.filter_files,  # filled in as the services are read
                prefilter=fetcher.prefilter(timeout=settings.track.extract_timeout),
                stop=stopping,
                now=now,
                confirm_pause=settings.track.confirm_pause,
            )
            try:
                async for outcome in outcomes:
                    if opening.done() and opening.exception() is not None:
                        break  # raised below, instead of one failure per terms
                    report.outcomes.append(outcome)
                    if on_outcome is not None:
                        on_outcome(outcome)
            finally:
                await outcomes.aclose()
            await opening
            for writer in (snapshots, versions):
                report.warnings.extend(await writer.opening_notes())
            declarations_in_git = await versions.in_git_working_tree(settings.collection.declarations)
    finally:
        opening.cancel()
        if watcher is not None:
            watcher.cancel()

        # The extraction processes stop while the repositories close. Versions first: closing
        # them publishes the snapshots they cite, then their own commits.
        async def writers_closed() -> list[OtaError | None]:
            return [await _closed(versions.close), await _closed(snapshots.close)]

        stopped, closed = await asyncio.gather(_closed(extractor.close), writers_closed())
        # A disk full, a branch moved by hand: said after the summary.
        report.fatal.extend(error for error in (stopped, *closed) if error is not None)
    if report.fatal:  # what could not be published was not recorded, whatever the outcomes said
        _keep_published(report, snapshots.path, versions.path)
    # Only now that the versions are published may the state say they were extracted.
    if not report.fatal:
        try:
            report.warnings.extend(state.save())
        except OtaError as error:
            report.warnings.append(f"{error} (the next run extracts every terms again)")
    if not report.fatal and not declarations_in_git:
        # Without git, the declaration each version was extracted with is kept in history files.
        tracked = [(o.service_id, o.terms_type) for o in report.outcomes if o.tracked]
        try:
            kept = keep_declarations(
                settings.collection.declarations, versions.path, tracked, reader.entries, started_at
            )
            report.warnings.extend(kept)
        except OtaError as error:
            report.warnings.append(str(error))
    if settings.timestamps.authority is not None:
        report.warnings.extend(await _timestamp(settings, settings.timestamps.authority))
    collection = collection or reader.load()  # read by now: its errors and warnings
    if terms_types and not services:
        # Broken files of services outside the selection may or may not declare these types:
        # they are mentioned, not counted as failures of this run.
        report.warnings.extend(f"not read: {error}" for error in collection.errors)
    else:
        report.declaration_errors = list(collection.errors)
    report.warnings.extend(collection.warnings)
    if stop is not None and stop.requested:
        report.interrupted = stop.reason
    report.seconds = time.monotonic() - started
    return report


async def _timestamp(settings: Settings, authority: str) -> list[str]:
    """Have the time-stamping authority witness each repository's new branch tip; what failed."""
    from ota.fetch.timestamps import request_timestamp  # rfc3161-client, only when configured
    from ota.store.timestamps import add_timestamp, untimestamped_tip

    problems = []
    for folder in (settings.collection.snapshots, settings.collection.versions):
        try:
            tip = untimestamped_tip(folder)
            if tip is not None:
                token = await request_timestamp(authority, tip.encode(), settings.fetch)
                add_timestamp(
                    folder, tip, token, (settings.recorder.author_name, settings.recorder.author_email)
                )
        except (FetchError, RecordError) as error:
            problems.append(f"no timestamp for {folder}: {error}")
    return problems


def _keep_published(report: Report, snapshots: Path, versions: Path) -> None:
    """Turn the outcomes whose commits did not reach their repository's branch (the run could not
    publish its last batch) into failures: the summary and the status never claim them."""
    from ota.store.folder import unpublished  # git, in the tracking process only after a failure

    outcomes = report.outcomes
    lost_snapshots = unpublished(
        snapshots, (s.commit_id for o in outcomes for s in o.snapshots if s.kind != "unchanged")
    )
    lost_versions = unpublished(versions, (v.commit_id for o in outcomes for v in o.versions))
    for index, outcome in enumerate(outcomes):
        lost = [s for s in outcome.snapshots if s.commit_id in lost_snapshots and s.kind != "unchanged"]
        lost += [v for v in outcome.versions if v.commit_id in lost_versions]
        if not lost:
            continue
        repository = versions if any(v in lost for v in outcome.versions) else snapshots
        error = RecordError(repository, f"{lost[-1].path}: not recorded: this run could not publish it")
        outcomes[index] = replace(
            outcome,
            status="failed",
            stage=Stage.RECORD,
            errors=(error,),
            snapshots=tuple(s for s in outcome.snapshots if s not in lost),
            versions=tuple(v for v in outcome.versions if v not in lost),
        )


async def _closed(close: Callable[[], Awaitable[None]]) -> OtaError | None:
    """Await `close()`; the OtaError it raised, if any."""
    try:
        await close()
    except OtaError as error:
        return error
    return None


async def _ready(snapshots: Writer, versions: Writer) -> None:
    await snapshots.ready()
    await versions.ready()
