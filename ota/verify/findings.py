"""What `ota verify` finds, and the report it gives: values, summarised as lines or as JSON; and where
two texts first differ, quoted with a few words around (`difference`).

A finding is one thing wrong or worth knowing about one commit (or one file at a date):

- **unexplained**: the archive does not say what it should, and nothing known explains it
  (a version that is not what its snapshots give, a commit by someone else, a bad signature…);
- **unverifiable**: what the archive holds cannot be checked here, for a stated cause (one of
  `UNVERIFIABLE_CAUSES`): a version citing a snapshot of another repository (an older collection it
  was split from), a version citing no snapshot, a commit of record files that is not a version;
- **explained**: a difference with its most likely cause (another engine recorded it, the
  declaration changed near that date, a JavaScript filter that cannot be run here…);
- **notice**: worth knowing, not a difference (a signer's identity that was not checked, a forge's
  web commit, a README edit by a maintainer…).

A version is *reproduced* when it has no finding but notices, else it takes the category of its
worst finding: unexplained, then unverifiable, then explained.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from ota.store.reader import Change

Severity = Literal["unexplained", "unverifiable", "explained", "notice"]
#: The causes of unverifiable findings, as the summary counts them.
SNAPSHOT_ELSEWHERE = "cited snapshot not in this repository"
NO_SNAPSHOT = "no snapshot cited"
NOT_A_VERSION = "not a version commit"
NOT_A_RECORD = "not a snapshot commit"
UNVERIFIABLE_CAUSES = (SNAPSHOT_ELSEWHERE, NO_SNAPSHOT, NOT_A_VERSION, NOT_A_RECORD)
_RANK = {"notice": 0, "explained": 1, "unverifiable": 2, "unexplained": 3}
#: Categories of versions, best first.
CATEGORIES = ("reproduced", "explained", "unverifiable", "unexplained")
Check = Literal["format", "author", "citation", "date", "reproduction", "upgrade", "signature", "timestamp"]


@dataclass(frozen=True)
class Finding:
    """One thing `ota verify` found."""

    check: Check
    severity: Severity
    message: str
    #: "versions", "snapshots" or "declarations".
    repository: str = "versions"
    commit_id: str | None = None
    path: str | None = None
    #: The date the record claims (author date).
    date: datetime | None = None
    #: For an explained difference: its most likely cause; for an unverifiable one, why.
    cause: str | None = None
    #: The cause as the summary counts it, without the details of this case (default: `cause`).
    kind: str | None = None

    def line(self) -> str:
        """One line for a person: where, what, why."""
        where = " ".join(
            part
            for part in (
                f"{self.repository}",
                self.commit_id[:12] if self.commit_id else "",
                f"{self.path}" if self.path else "",
                f"({self.date:%Y-%m-%dT%H:%M:%SZ})" if self.date else "",
            )
            if part
        )
        cause = f" — {self.cause}" if self.cause else ""
        return f"{self.severity}: {where}: {self.message}{cause}"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["date"] = self.date.isoformat() if self.date else None
        data["kind"] = self.kind or self.cause
        return data


@dataclass
class VerifyReport:
    """Everything `ota verify` found, with the counts its summary gives."""

    findings: list[Finding] = field(default_factory=list)
    #: Version commits checked (a version is a commit of a `.md` record).
    versions_checked: int = 0
    #: Commits of both repositories whose authorship and signature were checked.
    commits_checked: int = 0
    #: The version commits checked, with the record files of each (a commit of several files, such
    #: as a template's, is that many versions), to tell reproduced versions from the others.
    version_ids: dict[str, set[str]] = field(default_factory=dict)
    seconds: float = 0.0
    #: Authors other than the configured bot, with their number of commits.
    other_authors: Counter[str] = field(default_factory=Counter)
    #: Whether explained differences are accepted (`[verify] accept_explained`).
    accept_explained: bool = True
    #: Whether unverifiable versions and commits fail verification (`[verify] strict`).
    strict: bool = False

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def _worst(self) -> dict[tuple[str, str], Finding]:
        """The worst finding of each version (commit, file) that has one besides notices; a finding
        about a whole commit (its signature) is one of each version it records."""
        worst: dict[tuple[str, str], Finding] = {}
        for finding in self.findings:
            if finding.commit_id not in self.version_ids or finding.severity == "notice":
                continue
            paths = self.version_ids[finding.commit_id]
            for path in [finding.path] if finding.path in paths else paths:
                key = (finding.commit_id, path)
                if key not in worst or _RANK[finding.severity] > _RANK[worst[key].severity]:
                    worst[key] = finding
        return worst

    @property
    def counts(self) -> dict[str, int]:
        """Versions by category, and the other findings (not about a version) by severity."""
        worst: Counter[str] = Counter(finding.severity for finding in self._worst().values())
        others: Counter[str] = Counter(
            f.severity
            for f in self.findings
            if f.commit_id not in self.version_ids and f.severity != "notice"
        )
        counts = {"versions": self.versions_checked}
        counts["reproduced"] = self.versions_checked - sum(worst.values())
        for severity in ("explained", "unverifiable", "unexplained"):
            counts[severity] = worst[severity]
        for severity in ("unexplained", "unverifiable", "explained"):
            counts[f"other_{severity}"] = others[severity]
        return counts

    @property
    def causes(self) -> dict[str, dict[str, int]]:
        """For versions explained, unverifiable and unexplained: how many by the cause of their worst
        finding (unexplained ones by the check that failed); for other findings, by cause too."""
        found: dict[str, Counter[str]] = {name: Counter() for name in CATEGORIES[1:]}
        for finding in self._worst().values():
            found[finding.severity][_kind(finding)] += 1
        others: Counter[str] = Counter()
        for finding in self.findings:
            if finding.commit_id not in self.version_ids and finding.severity != "notice":
                others[f"{finding.severity}: {_kind(finding)}"] += 1
        result = {name: dict(counter.most_common()) for name, counter in found.items()}
        result["other"] = dict(others.most_common())
        return result

    @property
    def ok(self) -> bool:
        """Nothing unexplained; nothing unverifiable when strict; nothing explained unless accepted."""
        counts = self.counts
        if counts["unexplained"] or counts["other_unexplained"]:
            return False
        if self.strict and (counts["unverifiable"] or counts["other_unverifiable"]):
            return False
        return self.accept_explained or not (counts["explained"] or counts["other_explained"])

    def summary_lines(self, *, limit: int = 50) -> list[str]:
        """The summary, counts per cause, then one line per finding (worst first)."""
        counts = self.counts
        causes = self.causes
        lines = [
            f"{counts['versions']} versions checked in {self.seconds:.1f} s: "
            f"{counts['reproduced']} reproduced, {counts['explained']} explained, "
            f"{counts['unverifiable']} unverifiable, {counts['unexplained']} unexplained"
        ]
        for category in CATEGORIES[1:]:
            for cause, number in list(causes[category].items())[:8]:
                lines.append(f"  {category}: {number} × {cause}")
        if counts["other_unexplained"] or counts["other_unverifiable"] or counts["other_explained"]:
            lines.append(
                f"{self.commits_checked} commits checked: {counts['other_unexplained']} other unexplained "
                f"findings, {counts['other_unverifiable']} other unverifiable, "
                f"{counts['other_explained']} other explained"
            )
            for cause, number in list(causes["other"].items())[:8]:
                lines.append(f"  {number} × {cause}")
        if self.other_authors:
            authors = ", ".join(f"{name} ({count})" for name, count in self.other_authors.most_common())
            lines.append(f"commits by others than the bot: {authors}")
        ranked = sorted(self.findings, key=lambda f: -_RANK[f.severity])
        lines.extend(finding.line() for finding in ranked[:limit])
        if len(ranked) > limit:
            lines.append(f"… and {len(ranked) - limit} more findings (--json FILE writes them all)")
        return lines

    def write_json(self, path: Path) -> None:
        """Every finding, the counts per category and per cause, as JSON."""
        data = {
            "counts": self.counts,
            "causes": self.causes,
            "commits_checked": self.commits_checked,
            "seconds": round(self.seconds, 3),
            "other_authors": dict(self.other_authors),
            "ok": self.ok,
            "findings": [finding.as_json() for finding in self.findings],
        }
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def _kind(finding: Finding) -> str:
    if finding.severity == "unexplained":
        return finding.kind or f"{finding.check} check"
    return finding.kind or finding.cause or finding.check


def change_finding(
    change: Change,
    check: Check,
    message: str,
    severity: Severity = "unexplained",
    cause: str | None = None,
    *,
    repository: str = "versions",
    kind: str | None = None,
) -> Finding:
    """A finding about one record file of one commit (`change`)."""
    return Finding(
        check,
        severity,
        message,
        repository=repository,
        commit_id=change.commit_id,
        path=change.path,
        date=change.date,
        cause=cause,
        kind=kind,
    )


def difference(expected: str, actual: str) -> str:
    """Where two texts first differ: the first differing words of each, with a few words around."""
    expected_lines, actual_lines = expected.splitlines(), actual.splitlines()
    for number, (a, b) in enumerate(zip(expected_lines, actual_lines, strict=False), 1):
        if a != b:
            before, after = _differing_words(a, b)
            return f"line {number} is {before} in the version, {after} when extracted again"
    if len(expected_lines) != len(actual_lines):
        shorter = min(len(expected_lines), len(actual_lines))
        extra = (expected_lines if len(expected_lines) > shorter else actual_lines)[shorter]
        which = "the version" if len(expected_lines) > shorter else "the extraction"
        return (
            f"the version has {len(expected_lines)} lines, the extraction {len(actual_lines)}; "
            f"line {shorter + 1} of {which} is {_short(extra)}"
        )
    return "they differ in whitespace at the end"


def _differing_words(a: str, b: str, context: int = 4, width: int = 40) -> tuple[str, str]:
    """The part of each line that differs, widened to whole words, with `context` words either side."""
    prefix = 0
    while prefix < min(len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < min(len(a), len(b)) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1

    def quote(line: str) -> str:
        start, end = prefix, len(line) - suffix
        head = line[:start].split(" ")
        tail = line[end:].split(" ")
        # The words cut by the difference belong to it; then `context` whole words either side.
        left = " ".join(head[-1 - context :])
        right = " ".join(tail[: 1 + context])
        middle = line[start:end]
        if len(middle) > width:
            middle = middle[: width - 1] + "…"
        text = left + middle + right
        opening = "…" if len(head) > context + 1 else ""
        closing = "…" if len(tail) > context + 1 else ""
        return repr(opening + text + closing)

    return quote(a), quote(b)


def _short(text: str, width: int = 60) -> str:
    return repr(text if len(text) <= width else text[: width - 1] + "…")
