"""A tracking run built from settings: the collection, the two repositories, the fetcher, the
extraction workers; `track` does the work and this module gathers its outcomes into a report.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from ota.collection import CollectionReader
from ota.declarations import STANDARD_TERMS_TYPES, Terms
from ota.fetch import Fetcher
from ota.settings import Settings
from ota.track import ExtractionState, Outcome, ProcessExtractor, Recording, Writer, track


@dataclass
class Report:
    """What a run did."""

    outcomes: list[Outcome] = field(default_factory=list)
    #: Declaration files that could not be loaded: their terms were not tracked.
    declaration_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, *statuses: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status in statuses)

    @property
    def failed(self) -> int:
        return self.count("failed") + len(self.declaration_errors)

    @property
    def new_snapshots(self) -> int:
        return sum(outcome.new_snapshots for outcome in self.outcomes)


async def run_tracking(
    settings: Settings,
    *,
    services: Iterable[str] = (),
    terms_types: Iterable[str] = (),
    show_progress: bool = False,
) -> Report:
    """Track the selected terms of the collection named by `settings` once."""
    started = time.monotonic()
    reader = CollectionReader(
        settings.declarations, terms_types=(*STANDARD_TERMS_TYPES, *settings.extra_terms_types)
    )
    services, terms_types = list(services), list(terms_types)
    selected: Iterable[Terms]
    if services or terms_types:  # a selection is checked against the whole collection first
        selected = reader.load().select(services, terms_types)
        total = len(selected)
    else:  # the whole collection: tracking starts while the declarations are still being read
        selected = reader.terms()
        total = None
    report = Report()
    # The recording process starts and opens the repositories while the first pages are fetched;
    # a repository that cannot be opened still stops the run before anything is recorded.
    author = {"author_name": settings.author_name, "author_email": settings.author_email}
    snapshots = await Writer.open(settings.snapshots, **author, wait=False)
    versions = await Writer.open(settings.versions, **author, cited=snapshots, wait=False)
    opening = asyncio.ensure_future(_ready(snapshots, versions))
    extractor = ProcessExtractor(settings.extract_workers)
    state = ExtractionState.of(versions)
    bar = _Bar(total) if show_progress else None
    try:
        async with Fetcher(settings.fetch) as fetcher:

            async def fetch(document):  # type: ignore[no-untyped-def]
                return await fetcher.fetch(
                    document.location,
                    execute_client_scripts=document.execute_client_scripts,
                    wait_for=tuple(s for s in document.select if isinstance(s, str)),
                )

            outcomes = track(
                selected,
                fetch=fetch,
                extract=extractor,
                snapshots=snapshots,
                versions=versions,
                state=state,
                recording=Recording(settings.engine_version, settings.snapshot_link_template),
                filters_paths=reader.filters_paths,  # filled in as the services are read
            )
            try:
                async for outcome in outcomes:
                    if opening.done() and opening.exception() is not None:
                        break  # raised below, instead of one failure per terms
                    report.outcomes.append(outcome)
                    if bar is not None:
                        bar.advance()
            finally:
                await outcomes.aclose()
            await opening
    finally:
        opening.cancel()
        if bar is not None:
            bar.stop()
        try:
            await extractor.close()
        finally:
            try:
                await versions.close()  # publishes the snapshots first: versions cite them
            finally:
                await snapshots.close()
    # Only now that the versions are published may the state say they were extracted.
    state.save()
    collection = reader.load()  # read by now: its errors and warnings
    report.declaration_errors = [str(error) for error in collection.errors]
    report.warnings = list(collection.warnings)
    report.seconds = time.monotonic() - started
    return report


async def _ready(snapshots: Writer, versions: Writer) -> None:
    await snapshots.ready()
    await versions.ready()


class _Bar:
    def __init__(self, total: int | None) -> None:
        """A progress bar; without a `total` (the collection is still being read) it only counts."""
        import sys

        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            TextColumn("tracking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            disable=not sys.stderr.isatty(), transient=True,
        )  # fmt: skip
        self._task = self._progress.add_task("tracking", total=total)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def stop(self) -> None:
        self._progress.stop()


def summary_lines(report: Report) -> list[str]:
    """The end-of-run summary, one line each."""
    tracked = len(report.outcomes) - report.count("failed")
    lines = [
        f"{tracked} terms tracked in {report.seconds:.1f} s: "
        f"{report.new_snapshots} new snapshots, "
        f"{report.count('first', 'changed', 'upgraded')} new versions "
        f"({report.count('first')} first records, {report.count('changed')} changes, "
        f"{report.count('upgraded')} technical upgrades), "
        f"{report.count('unchanged')} unchanged, {report.failed} failed"
    ]
    for warning in report.warnings:
        lines.append(f"warning: {warning}")
    for error in report.declaration_errors:
        lines.append(f"failed: {error}")
    for outcome in sorted(
        (o for o in report.outcomes if o.status == "failed"), key=lambda o: (o.terms.service_id, o.terms.type)
    ):
        lines.append(f"failed: {outcome.terms.service_id} › {outcome.terms.type}: {outcome.error}")
    return lines
