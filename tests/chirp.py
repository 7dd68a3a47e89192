"""A small collection with realistic edits, for the tests of what a reader of terms sees: Chirp's
terms of service recorded three times (a section added, a clause reworded, a table cell and a link
changed), written straight into a real versions repository, with a status file where one terms
fails and another's new page is held back as suspect."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ota.store.repository import Repository

FIRST = datetime(2026, 3, 4, 9, 15, tzinfo=UTC)
CHANGE = datetime(2026, 5, 13, 21, 30, tzinfo=UTC)
LATEST = datetime(2026, 7, 1, 0, 0, tzinfo=UTC)  # exactly midnight: a boundary of the date rule
PRIVACY = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)

TERMS_V1 = """Chirp Terms of Service
======================

1\\. Who we are
-------------

Chirp is operated by Chirp Ltd, Dublin. Contact us through the [help centre](https://help.chirp.example/contact).

4\\. Your content
----------------

You keep the rights to what you post. You grant us a licence to host and show it.

5\\. Using the Services
---------------------

*   You may not scrape the Services.
*   You may not resell access.

| Data | Kept for |
| --- | --- |
| Search history | 12 months |
| Messages | 6 months |

6\\. Ending these terms
---------------------

You may stop using Chirp at any time.
"""

TERMS_V2 = """Chirp Terms of Service
======================

1\\. Who we are
-------------

Chirp is operated by Chirp Ltd, Dublin. Contact us through the [help centre](https://support.chirp.example/contact).

4\\. Your content
----------------

You keep the rights to what you post. You grant us a licence to host and show it.

4A\\. Training our models
------------------------

We may use your public posts for training machine learning models that power Chirp's features.

5\\. Using the Services
---------------------

*   You may not scrape or crawl the Services.
*   You may not resell access.

| Data | Kept for |
| --- | --- |
| Search history | 24 months |
| Messages | 6 months |

6\\. Ending these terms
---------------------

You may stop using Chirp at any time.
"""

TERMS_V3 = TERMS_V2.replace("for training machine learning models", "to improve")

PRIVACY_V1 = """Privacy Policy
==============

We collect your email address and the posts you make.
"""


@dataclass
class Chirp:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "ota.toml"

    def version_ids(self) -> list[str]:
        """The terms of service's versions, oldest first."""
        import subprocess

        log = subprocess.run(
            [
                "git",
                "-C",
                str(self.root / "versions"),
                "log",
                "--reverse",
                "--format=%H",
                "--",
                "Chirp/Terms of Service.md",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return log.stdout.split()


def make_chirp(root: Path, *, public_url: str = "https://archive.example.org") -> Chirp:
    """The collection: declarations, metadata.yml, ota.toml (with `public_url`), versions, status."""
    declarations = root / "declarations"
    declarations.mkdir(parents=True)
    chirp = {
        "name": "Chirp",
        "terms": {
            "Terms of Service": {"fetch": "https://chirp.example/terms", "select": "main"},
            "Privacy Policy": {"fetch": "https://chirp.example/privacy", "select": "main"},
            "Community Guidelines": {"fetch": "https://chirp.example/rules", "select": "main"},
        },
    }
    (declarations / "Chirp.json").write_text(json.dumps(chirp, indent=2), "utf-8")
    (root / "metadata.yml").write_text("id: watch\nname: Platform Watch\ntagline: Terms we watch\n", "utf-8")
    (root / "ota.toml").write_text(f'[serve]\npublic_url = "{public_url}"\n' if public_url else "", "utf-8")
    repo = Repository.open(root / "versions")
    source = "This version was recorded after extracting from snapshot " + "a" * 40
    for path, text, subject, date in (
        ("Chirp/Terms of Service.md", TERMS_V1, "First record of Chirp Terms of Service", FIRST),
        ("Chirp/Privacy Policy.md", PRIVACY_V1, "First record of Chirp Privacy Policy", PRIVACY),
        ("Chirp/Terms of Service.md", TERMS_V2, "Record new changes of Chirp Terms of Service", CHANGE),
        ("Chirp/Terms of Service.md", TERMS_V3, "Record new changes of Chirp Terms of Service", LATEST),
    ):
        repo.commit(path, text.encode(), message=f"{subject}\n\n{source}\n", date=date)
    repo.close()
    status = {
        "format": 1,
        "last_run": {
            "started": "2026-07-02T12:00:00Z",
            "finished": "2026-07-02T12:01:00Z",
            "outcome": "partial",
        },
        "last_success": "2026-07-02T12:01:00Z",
        "changes": [],
        "failing": [
            {
                "service_id": "Chirp",
                "terms_type": "Privacy Policy",
                "stage": "fetch",
                "error": "HTTP 403 at https://chirp.example/privacy",
                "url": "https://chirp.example/privacy",
                "status": 403,
                "since": "2026-06-20T00:30:00Z",
                "last": "2026-07-02T12:00:00Z",
                "runs": 24,
            },
            {
                "service_id": "Chirp",
                "terms_type": "Terms of Service",
                "stage": "confirm",
                "error": "not recorded: looks like a block page ('Access denied'), again 30 s later",
                "url": None,
                "status": None,
                "since": "2026-07-02T12:00:00Z",
                "last": "2026-07-02T12:00:00Z",
                "runs": 1,
            },
        ],
    }
    (root / ".ota").mkdir()
    (root / ".ota" / "status.json").write_text(json.dumps(status, indent=2), "utf-8")
    return Chirp(root)
