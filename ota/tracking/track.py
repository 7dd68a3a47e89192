"""Tracking: fetch every terms, record its snapshots, extract and record its version.

Many terms are in flight at once; the fetcher keeps each host to a few requests, extraction runs
in child processes (`ota.tracking.pool`) so that CPU-heavy pages do not stall the network, and both
repositories are written by one recording process (`ota.store.writer`), so commits never
interleave. `track` yields one `Outcome` per terms, in the order they finish; a failure is an
outcome, never an exception that stops the others. Everything this module does to the outside
world goes through the parameters it is given.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from ota.declarations import SourceDocument, Terms
from ota.declarations.collection import FilterFiles, InvalidTerms
from ota.errors import FetchError, OtaError, RecordError, SuspectChange
from ota.extract.suspicion import block_page, suspicion
from ota.outcome import Outcome, Recorded, Stage, Status
from ota.settings import DEFAULT_CONFIRM_PAUSE
from ota.store.extractions import ExtractionState, fingerprint
from ota.store.records import Recording, version_path
from ota.store.versions import Baseline, Suspect
from ota.store.writer import Recorder
from ota.tracking.pool import Extract, Source

if TYPE_CHECKING:
    from ota.fetch import Page
    from ota.fetch.pdftext import Prefilter

#: Terms in flight at once, beyond which fetched pages would wait in memory for extraction.
DEFAULT_TERMS_IN_FLIGHT = 128


def utc_now() -> datetime:
    """The current time, timezone-aware (a module-level function: it is sent to the recording process)."""
    return datetime.now(UTC)


#: What gives every date a run records (snapshot and version commits, status file, reports). It is
#: sent to the recording process: a module-level function or a picklable value.
Clock = Callable[[], datetime]


@dataclass(frozen=True)
class FixedClock:
    """A clock stopped at one instant: every date of a run is that instant (tests give each run its
    own instant, instead of waiting a second between runs). A `Retry-After` given as a date is
    measured from that instant too."""

    instant: datetime

    def __call__(self) -> datetime:
        return self.instant


class Fetch(Protocol):
    def __call__(self, document: SourceDocument) -> Awaitable[Page]: ...


async def track_terms(
    terms: Terms,
    *,
    fetch: Fetch,
    extract: Extract,
    snapshots: Recorder,
    versions: Recorder,
    state: ExtractionState,
    recording: Recording,
    filter_files: FilterFiles | None = None,
    prefilter: Prefilter | None = None,
    now: Clock = utc_now,
    confirm_pause: float = DEFAULT_CONFIRM_PAUSE,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> Outcome:
    """Track one terms; every failure is returned as an outcome.

    A new text that looks wrong (`ota.extract.suspicion`) is not recorded at once: the pages are
    fetched again after `confirm_pause` seconds; a block page is never recorded (its snapshots
    are), a large loss of text is recorded when the second fetch gives the same text; otherwise
    the outcome is "suspect", with the reason.
    """
    files = filter_files or FilterFiles()

    async def extracted(sources: Sequence[Source]) -> str:
        if prefilter is not None:  # PDFs read by pdf.js, JavaScript filters: each only when needed
            sources = await prefilter(sources, files)
        return await extract(sources, files.python)

    taken = await _take(terms, fetch, snapshots, recording)
    if isinstance(taken, Outcome):
        return taken
    sources, snapshot_records = taken
    key = version_path(terms)
    used_files = [path for path in (files.python, files.javascript) if path is not None]

    def fingerprint_of(records: Sequence[Recorded]) -> str:
        return fingerprint(terms, [r.commit_id for r in records], used_files, recording.engine_version)

    current = fingerprint_of(snapshot_records)
    if state.get(key) == current:
        return Outcome(
            terms.service_id, terms.type, "unchanged", terms, snapshot_records, skipped_extraction=True
        )
    try:
        markdown = await extracted(sources)
    except OtaError as error:  # ExtractError, or a service filters file that cannot be loaded
        return Outcome.failure(terms, Stage.EXTRACT, error, snapshot_records)
    del sources  # the extraction process had its own copy
    try:
        plan = await versions.plan_version(
            terms, markdown, snapshot_records=snapshot_records, recording=recording, now=now, vet=vet
        )
        if isinstance(plan, Suspect):  # fetched again after a pause: a glitch passes, a real loss stays
            await sleep(confirm_pause)
            first_markdown = markdown
            taken = await _take(terms, fetch, snapshots, recording)
            if isinstance(taken, Outcome):
                return taken
            sources, snapshot_records = taken
            current = fingerprint_of(snapshot_records)
            try:
                markdown = await extracted(sources)
            except OtaError as error:
                return Outcome.failure(terms, Stage.EXTRACT, error, snapshot_records)
            del sources
            plan = await versions.plan_version(
                terms,
                markdown,
                snapshot_records=snapshot_records,
                recording=recording,
                now=now,
                vet=functools.partial(vet, confirmed=markdown == first_markdown),
            )
            if isinstance(plan, Suspect):
                doubt = SuspectChange(
                    f"not recorded: {plan.reason}, again when fetched {confirm_pause:g} s later"
                )
                return Outcome(
                    terms.service_id,
                    terms.type,
                    "suspect",
                    terms,
                    snapshot_records,
                    stage=Stage.CONFIRM,
                    errors=(doubt,),
                )
        if isinstance(plan, Baseline):
            recorded = await _record_with_baseline(
                terms, markdown, plan, extracted, versions, snapshot_records, recording, now
            )
        else:
            recorded = [plan] if plan.kind != "unchanged" else []
    except RecordError as error:
        return Outcome.failure(terms, Stage.RECORD, error, snapshot_records)
    state.set(key, current)
    return Outcome(terms.service_id, terms.type, _status(recorded), terms, snapshot_records, tuple(recorded))


async def _take(
    terms: Terms, fetch: Fetch, snapshots: Recorder, recording: Recording
) -> tuple[list[Source], tuple[Recorded, ...]] | Outcome:
    """Fetch a terms' pages and record their snapshots: the sources to extract and the records,
    or the outcome of a failure."""
    pages: list[Page] = []
    for document in terms.documents:  # one after the other, as OTA does, to avoid bot detection
        try:
            pages.append(await fetch(document))
        except FetchError as error:
            return Outcome.failure(terms, Stage.FETCH, error)
    try:
        snapshot_records = tuple(
            [
                await snapshots.record_snapshot(
                    terms,
                    document,
                    page.content,
                    mime_type=page.mime_type,
                    fetch_date=page.fetched_at,
                    fetcher=page.fetcher,
                    engine_version=recording.engine_version,
                    status=page.status,
                )
                for document, page in zip(terms.documents, pages, strict=True)
            ]
        )
    except RecordError as error:
        return Outcome.failure(terms, Stage.RECORD, error)
    sources = [(d, p.content, p.mime_type) for d, p in zip(terms.documents, pages, strict=True)]
    return sources, snapshot_records


async def _record_with_baseline(
    terms: Terms,
    markdown: str,
    baseline: Baseline,
    extracted: Callable[[Sequence[Source]], Awaitable[str]],
    versions: Recorder,
    snapshot_records: Sequence[Recorded],
    recording: Recording,
    now: Callable[[], datetime],
) -> list[Recorded]:
    """Extract the snapshots the latest version cites with the current declaration, then record."""
    baseline_markdown, baseline_error = None, ""
    if baseline.sources is not None:
        cited = [
            (d, content, mime) for d, (content, mime) in zip(terms.documents, baseline.sources, strict=True)
        ]
        try:
            baseline_markdown = await extracted(cited)
        except OtaError as error:
            baseline_error = str(error)
    return await versions.record_with_baseline(
        terms,
        markdown,
        baseline,
        baseline_markdown,
        baseline_error=baseline_error,
        snapshot_records=snapshot_records,
        recording=recording,
        now=now,
    )


def vet(markdown: str, latest_length: int | None, *, confirmed: bool = False) -> Suspect | None:
    """Whether a new text is not to be recorded (`ota.extract.suspicion`): a block page never is, a
    large loss of text only once `confirmed` (a second fetch after a pause gave the same text)."""
    reason = suspicion(markdown, latest_length)
    if reason is None:
        return None
    is_block = block_page(markdown) is not None
    return Suspect(reason, is_block) if is_block or not confirmed else None


def _status(recorded: Sequence[Recorded]) -> Status:
    kinds = {r.kind for r in recorded}
    if "change" in kinds:
        return "changed"
    if "first" in kinds:
        return "first"
    if "upgrade" in kinds:
        return "upgraded"
    return "unchanged"


async def track(
    items: Iterable[Terms | InvalidTerms],
    *,
    fetch: Fetch,
    extract: Extract,
    snapshots: Recorder,
    versions: Recorder,
    state: ExtractionState,
    recording: Recording,
    filter_files: Mapping[str, FilterFiles] | None = None,
    prefilter: Prefilter | None = None,
    in_flight: int = DEFAULT_TERMS_IN_FLIGHT,
    now: Clock = utc_now,
    stop: asyncio.Event | None = None,
    confirm_pause: float = DEFAULT_CONFIRM_PAUSE,
) -> AsyncGenerator[Outcome, None]:
    """Track many terms at once; yield each outcome as soon as it is known.

    `items` is read lazily, one terms each time one finishes: at most `in_flight` are started at
    once, so memory does not grow with the collection, and a collection that is still being read
    (a generator) is tracked while the rest of it loads. `filter_files` may fill in meanwhile (the
    reader's own dict). An `InvalidTerms` gives a failed outcome at once. When `stop` is set, no
    terms is started any more and those in progress are abandoned (outcome "interrupted"): what
    the recording process was committing is committed, the rest is left for the next run.
    """
    # The reader's own dict, filled in as services are read: never replaced by a copy.
    files = filter_files if filter_files is not None else {}

    async def one(item: Terms | InvalidTerms) -> Outcome:
        if isinstance(item, InvalidTerms):
            return Outcome(item.service_id, item.type, "failed", stage=Stage.DECLARATION, errors=item.errors)
        try:
            return await track_terms(
                item,
                fetch=fetch,
                extract=extract,
                snapshots=snapshots,
                versions=versions,
                state=state,
                recording=recording,
                filter_files=files.get(item.service_id),
                prefilter=prefilter,
                now=now,
                confirm_pause=confirm_pause,
            )
        except Exception as error:  # a bug must not stop the other terms; it is reported
            return Outcome.failure(item, Stage.INTERNAL, error)

    remaining = iter(items)
    running: dict[asyncio.Task[Outcome], Terms | InvalidTerms] = {}
    finished: asyncio.Queue[asyncio.Task[Outcome]] = asyncio.Queue()
    stopping = asyncio.ensure_future(stop.wait()) if stop is not None else None

    def start_next() -> None:
        item = next(remaining, None)
        if item is not None:
            task = asyncio.ensure_future(one(item))
            running[task] = item
            task.add_done_callback(finished.put_nowait)

    try:
        for _ in range(max(1, in_flight)):
            start_next()
            # The terms just started runs to its first request before the next declaration is
            # read: the network is busy at once, instead of after reading `in_flight` of them.
            await asyncio.sleep(0)
        while running:
            getting = asyncio.ensure_future(finished.get())
            waiting = {getting} if stopping is None else {getting, stopping}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not getting.done():  # asked to stop: abandon what is in progress
                getting.cancel()
                for task in running:
                    task.cancel()
                for task, item in list(running.items()):
                    try:
                        outcome = await task
                    except asyncio.CancelledError:
                        outcome = Outcome(item.service_id, item.type, "interrupted", _terms_of(item))
                    yield outcome
                running.clear()
                return
            task = getting.result()
            running.pop(task, None)
            if stop is None or not stop.is_set():
                start_next()
            yield task.result()
    finally:
        if stopping is not None:
            stopping.cancel()
        for task in running:
            task.cancel()


def _terms_of(item: Terms | InvalidTerms) -> Terms | None:
    return item if isinstance(item, Terms) else None
