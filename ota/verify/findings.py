"""What `ota verify` finds, and the report it gives: values, summarised as lines or as JSON.

A finding is one thing wrong or worth knowing about one commit (or one file at a date):

- **unexplained**: the archive does not say what it should, and nothing known explains it
  (a version that is not what its snapshots give, a commit by someone else, a bad signature…);
- **explained**: a difference with its most likely cause (another engine recorded it, the
  declaration changed near that date, a JavaScript filter that cannot be run here…);
- **notice**: worth knowing, not a difference (a signer's identity that was not checked…).

A version is *reproduced* when it has no unexplained or explained finding, *explained* when its
findings are all explained, *unexplained* otherwise.
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

Severity = Literal["unexplained", "explained", "notice"]
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
    #: For an explained difference: its most likely cause.
    cause: str | None = None

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
        return data


@dataclass
class VerifyReport:
    """Everything `ota verify` found, with the counts its summary gives."""

    findings: list[Finding] = field(default_factory=list)
    #: Version commits checked (a version is a commit of a `.md` record).
    versions_checked: int = 0
    #: Commits of both repositories whose authorship and signature were checked.
    commits_checked: int = 0
    #: The version commits checked, to tell reproduced from explained and unexplained ones.
    version_ids: set[str] = field(default_factory=set)
    seconds: float = 0.0
    #: Authors other than the configured bot, with their number of commits.
    other_authors: Counter[str] = field(default_factory=Counter)
    #: Whether explained differences are accepted (`[verify] accept_explained`).
    accept_explained: bool = False

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def _worst(self) -> dict[str, Severity]:
        rank = {"notice": 0, "explained": 1, "unexplained": 2}
        worst: dict[str, Severity] = {}
        for finding in self.findings:
            if finding.commit_id in self.version_ids and finding.severity != "notice":
                key = finding.commit_id
                assert key is not None
                if key not in worst or rank[finding.severity] > rank[worst[key]]:
                    worst[key] = finding.severity
        return worst

    @property
    def counts(self) -> dict[str, int]:
        """Versions reproduced, explained and unexplained, and the other findings by severity."""
        worst = Counter(self._worst().values())
        others = Counter(
            f.severity
            for f in self.findings
            if f.commit_id not in self.version_ids and f.severity != "notice"
        )
        return {
            "versions": self.versions_checked,
            "reproduced": self.versions_checked - worst["explained"] - worst["unexplained"],
            "explained": worst["explained"],
            "unexplained": worst["unexplained"],
            "other_unexplained": others["unexplained"],
            "other_explained": others["explained"],
        }

    @property
    def ok(self) -> bool:
        """Nothing unexplained, and nothing explained unless explained differences are accepted."""
        counts = self.counts
        if counts["unexplained"] or counts["other_unexplained"]:
            return False
        return self.accept_explained or not (counts["explained"] or counts["other_explained"])

    def summary_lines(self, *, limit: int = 50) -> list[str]:
        """The summary, then one line per finding (explained and notices after the unexplained)."""
        counts = self.counts
        lines = [
            f"{counts['versions']} versions checked in {self.seconds:.1f} s: "
            f"{counts['reproduced']} reproduced, {counts['explained']} explained, "
            f"{counts['unexplained']} unexplained"
        ]
        if counts["other_unexplained"] or counts["other_explained"]:
            lines.append(
                f"{self.commits_checked} commits checked: {counts['other_unexplained']} other unexplained "
                f"findings, {counts['other_explained']} other explained findings"
            )
        if self.other_authors:
            authors = ", ".join(f"{name} ({count})" for name, count in self.other_authors.most_common())
            lines.append(f"commits by others than the bot: {authors}")
        order = {"unexplained": 0, "explained": 1, "notice": 2}
        ranked = sorted(self.findings, key=lambda f: order[f.severity])
        lines.extend(finding.line() for finding in ranked[:limit])
        if len(ranked) > limit:
            lines.append(f"… and {len(ranked) - limit} more findings (--json FILE writes them all)")
        return lines

    def write_json(self, path: Path) -> None:
        """Every finding and the counts, as JSON."""
        data = {
            "counts": self.counts,
            "commits_checked": self.commits_checked,
            "seconds": round(self.seconds, 3),
            "other_authors": dict(self.other_authors),
            "ok": self.ok,
            "findings": [finding.as_json() for finding in self.findings],
        }
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def change_finding(
    change: Change,
    check: Check,
    message: str,
    severity: Severity = "unexplained",
    cause: str | None = None,
    *,
    repository: str = "versions",
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
    )
