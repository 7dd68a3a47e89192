"""How a version is cited: the address readers reach the archive at, and the citation in plain
text, BibTeX and CSL-JSON (what Zotero, Pandoc and citeproc read).

The address is `[serve] public_url` when it is set (the archive's public name, whatever proxy sits
in front), else the host a reverse proxy on this machine forwarded (`X-Forwarded-Host`, with the
scheme uvicorn took from `X-Forwarded-Proto`), else the address the request came to.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

_BIBTEX_SPECIAL = re.compile(r"([\\{}%&#_$^~])")


def site_url(request: Request) -> str:
    """The viewer's absolute address as readers reach it, without a final slash."""
    public: str = request.app.state.archive.settings.serve.public_url
    if public:
        return public.rstrip("/")
    host = request.headers.get("host", "localhost")
    client = request.client.host if request.client else ""
    if client in ("127.0.0.1", "::1") and "x-forwarded-host" in request.headers:
        host = request.headers["x-forwarded-host"].split(",")[0].strip()
    return f"{request.url.scheme}://{host}"


@dataclass(frozen=True)
class Citation:
    """What a citation of a version says."""

    service: str
    terms_type: str
    version_id: str
    recorded: datetime
    #: Since when the platform's terms were unchanged (earlier than `recorded` for a technical
    #: upgrade, which records them again because the declaration or ota changed).
    text_since: datetime
    until: datetime | None
    archive: str
    permalink: str
    snapshots: tuple[str, ...]
    accessed: datetime

    def plain(self) -> str:
        parts = [f"{self.service}, “{self.terms_type}”, version recorded on {_moment(self.recorded)}"]
        if self.text_since != self.recorded:
            since = _moment(self.text_since)
            parts[0] += f" (a technical upgrade: the platform's terms unchanged since {since})"
        if self.until:
            parts[0] += f", in force until {_moment(self.until)}"
        parts.append(f"{self.archive}, archived by ota" if self.archive else "Archived by ota")
        evidence = f"Version {self.version_id}"
        if self.snapshots:
            evidence += ", extracted from snapshot " + ", ".join(self.snapshots)
        parts.append(evidence)
        parts.append(f"{self.permalink} (accessed {self.accessed:%Y-%m-%d})")
        return ". ".join(parts)

    def bibtex(self) -> str:
        key = re.sub(r"[^a-z0-9]+", "_", f"{self.service} {self.terms_type}".lower()).strip("_")
        note = (
            f"{self.archive + ', ' if self.archive else ''}archived by ota; version {self.version_id}"
            + (f"; snapshot {', '.join(self.snapshots)}" if self.snapshots else "")
            + (f"; in force until {_moment(self.until)}" if self.until else "")
        )
        fields = [
            ("title", f"{self.terms_type}, version recorded on {_moment(self.recorded)}"),
            ("author", f"{{{_bibtex(self.service)}}}"),
            ("organization", self.service),
            ("date", f"{self.text_since:%Y-%m-%d}"),
            ("year", f"{self.text_since:%Y}"),
            ("url", self.permalink),
            ("urldate", f"{self.accessed:%Y-%m-%d}"),
            ("note", note),
        ]
        lines = [f"@misc{{{key}_{self.text_since:%Y_%m_%d},"]
        for name, value in fields:
            shown = value if name in ("url", "author") else _bibtex(value)
            lines.append(f"  {name} = {{{shown}}},")
        lines.append("}")
        return "\n".join(lines)

    def csl_json(self) -> str:
        item = {
            "id": f"{self.service}-{self.terms_type}-{self.version_id[:10]}",
            "type": "webpage",
            "title": f"{self.terms_type}",
            "author": [{"literal": self.service}],
            "container-title": self.archive or "ota archive",
            "issued": {"date-parts": [[self.text_since.year, self.text_since.month, self.text_since.day]]},
            "accessed": {"date-parts": [[self.accessed.year, self.accessed.month, self.accessed.day]]},
            "URL": self.permalink,
            "note": f"Version {self.version_id}, recorded {_moment(self.recorded)}"
            + (f"; snapshot {', '.join(self.snapshots)}" if self.snapshots else ""),
        }
        return json.dumps([item], ensure_ascii=False, indent=2)


def _moment(date: datetime) -> str:
    return date.strftime("%Y-%m-%d %H:%M UTC")


def _bibtex(text: str) -> str:
    return _BIBTEX_SPECIAL.sub(r"\\\1", text)
