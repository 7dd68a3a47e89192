"""Secrets out of text that leaves the process (logs, status files, reports): `redact(text)`.

Pure. What it hides, wherever it appears in a line (a URL, a forge's error body that repeats the
request's headers, a library's message):

- the credentials of a URL: `scheme://user:password@host` and `scheme://token@host`, even as a
  library shortens them (Apprise's `mailto://alice:S...9@host`);
- the value of an `Authorization` header, and what follows `Bearer`, `token` or `Basic` when it
  looks like a credential (8 characters or more, a digit or `_` among them);
- tokens with a known shape (GitHub's `ghp_…`, `github_pat_…`, GitLab's `glpat-…`, Slack's `xox…-`);
- the value of query parameters and fields named like secrets (`token=`, `password=`, `api_key`…).
"""

from __future__ import annotations

import re

HIDDEN = "***"

_PATTERNS = (
    # scheme://user:password@ and scheme://token@
    (re.compile(r"(?P<keep>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@"), rf"\g<keep>{HIDDEN}@"),
    # Authorization: Bearer X, "authorization": "token X", Authorization=Basic X
    (
        re.compile(
            r"""(?P<keep>\bauthorization\b["']?\s*[:=]\s*["']?(?:(?:bearer|token|basic)\s+)?)[^\s"',;}]+""",
            re.IGNORECASE,
        ),
        rf"\g<keep>{HIDDEN}",
    ),
    (
        re.compile(
            r"(?P<keep>\b(?:bearer|token|basic)\s+)(?=[A-Za-z0-9._~+/=-]*[0-9_])[A-Za-z0-9._~+/=-]{8,}",
            re.IGNORECASE,
        ),
        rf"\g<keep>{HIDDEN}",
    ),
    # Known token shapes, wherever they are
    (
        re.compile(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abpr]-[A-Za-z0-9-]{10,})"
        ),
        HIDDEN,
    ),
    # ?token=X, &password=X, "api_key": "X", private-token: X
    (
        re.compile(
            r"""(?P<keep>\b(?:access_token|token|password|passwd|secret|api_?key|apikey|private[_-]token)"""
            r"""["']?\s*[:=]\s*["']?)(?!\*\*\*)[^\s"'&,;}]+""",
            re.IGNORECASE,
        ),
        rf"\g<keep>{HIDDEN}",
    ),
)


def redact(text: str) -> str:
    """`text` with every secret it holds (see the module's docstring) replaced by `***`."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
