"""A run's report (its outcomes and the declaration files it could not use) and its summary."""

from __future__ import annotations

from urllib.parse import urlsplit

from ota.errors import FetchError
from ota.outcome import Report, Stage


def error_text(error: BaseException, stage: Stage | None = None) -> str:
    """An error in words; a bug of ota (an internal error) also says what kind of exception it was."""
    if stage is None:
        return str(error)
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
