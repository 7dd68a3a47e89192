"""A run's report (its outcomes and the declaration files it could not use) and its summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ota.errors import DeclarationError, FetchError, OtaError

if TYPE_CHECKING:  # `ota status` reads reports without loading the orchestrator (httpx, pygit2…)
    from ota.track import Outcome, Stage


@dataclass
class Report:
    """What a run did."""

    outcomes: list[Outcome] = field(default_factory=list)
    #: Declaration files of the selection that could not be used at all: their terms were not tracked.
    declaration_errors: list[DeclarationError] = field(default_factory=list)
    #: Things to fix that did not stop anything, each naming its file.
    warnings: list[str] = field(default_factory=list)
    #: Errors that stopped part of the run from being kept (a repository that could not publish
    #: its last commits): the summary still says what was done, then these; the exit code is 2.
    fatal: list[OtaError] = field(default_factory=list)
    #: The signal that stopped the run (SIGINT, SIGTERM), if one did.
    interrupted: str | None = None
    seconds: float = 0.0

    def count(self, *statuses: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status in statuses)

    @property
    def failed(self) -> int:
        """Terms that failed, and declaration files that could not be used."""
        return self.count("failed") + len(self.declaration_errors)

    @property
    def tracked(self) -> int:
        return sum(1 for outcome in self.outcomes if outcome.tracked)

    @property
    def new_snapshots(self) -> int:
        return sum(outcome.new_snapshots for outcome in self.outcomes)

    def versions(self, kind: str) -> int:
        """Versions of this kind ("first", "change", "upgrade") recorded by the run."""
        return sum(1 for outcome in self.outcomes for version in outcome.versions if version.kind == kind)

    @property
    def new_versions(self) -> int:
        return sum(len(outcome.versions) for outcome in self.outcomes)


def error_text(error: BaseException, stage: Stage | None = None) -> str:
    """An error in words; a bug of ota (an internal error) also says what kind of exception it was."""
    if stage is None:
        return str(error)
    from ota.track import Stage  # loaded by then: a stage comes from a run

    if stage is Stage.INTERNAL:
        return f"{type(error).__name__}: {error}"
    return str(error)


def summary_lines(report: Report) -> list[str]:
    """The end-of-run summary, one line each: the counts, then every terms that changed (first
    records, changes, technical upgrades), the warnings, and every failure with its reason."""
    tracked = report.tracked
    counts = (
        f"{tracked} terms tracked in {report.seconds:.1f} s: "
        f"{report.new_snapshots} new snapshots, "
        f"{report.new_versions} new versions "
        f"({report.versions('first')} first records, {report.versions('change')} changes, "
        f"{report.versions('upgrade')} technical upgrades), "
        f"{report.count('unchanged')} unchanged, {report.failed} failed"
    )
    if report.count("suspect"):
        counts += f", {report.count('suspect')} suspect (not recorded until confirmed)"
    if report.interrupted:
        counts += (
            f"; interrupted by {report.interrupted}: {report.count('interrupted')} abandoned in progress"
        )
    lines = [counts]
    by_terms = sorted(report.outcomes, key=lambda o: (o.service_id, o.terms_type))
    for outcome in by_terms:
        for version in outcome.versions:
            said = _RECORDED.get(version.kind, version.kind)
            what = version.commit_id[:12]
            matters = version.significance  # how much a change matters (ota.significance)
            if matters is not None:
                what += f", {matters.significance}" + (", minor" if matters.minor else "")
            lines.append(f"{said}: {outcome.service_id} › {outcome.terms_type} ({what})")
    for warning in report.warnings:
        lines.append(f"warning: {warning}")
    for declaration_error in report.declaration_errors:
        lines.append(f"failed: {declaration_error}")
    for outcome in by_terms:
        if outcome.status == "suspect":
            lines.extend(
                f"suspect: {outcome.service_id} › {outcome.terms_type}: {error}" for error in outcome.errors
            )
    unresolved = _unresolved_hosts(report)
    if unresolved:
        lines.append(
            "failed: no host could be resolved: is this machine offline? "
            f"({report.count('failed')} terms on {len(unresolved)} hosts, every one ENOTFOUND or EAI_AGAIN)"
        )
        return lines
    for outcome in by_terms:
        if outcome.status != "failed":
            continue
        for error in outcome.errors:
            lines.append(
                f"failed: {outcome.service_id} › {outcome.terms_type}: {error_text(error, outcome.stage)}"
            )
    return lines


def _unresolved_hosts(report: Report) -> set[str]:
    """The hosts of a run in which nothing was tracked and every terms failed because its host's
    name could not be resolved, when there are several (one host is more likely a typo than a
    machine offline); else none."""
    failed = [outcome for outcome in report.outcomes if outcome.status == "failed"]
    if report.tracked or not failed:
        return set()
    hosts = set()
    for outcome in failed:
        for error in outcome.errors:
            if not isinstance(error, FetchError) or not _NAME_NOT_RESOLVED.intersection(str(error).split()):
                return set()
            hosts.add(urlsplit(error.url).hostname or error.url)
    return hosts if len(hosts) > 1 else set()


#: The codes of a name that could not be resolved (no such name, or no resolver answering).
_NAME_NOT_RESOLVED = {"ENOTFOUND", "EAI_AGAIN"}

_RECORDED = {"first": "first record", "change": "changed", "upgrade": "technical upgrade"}
