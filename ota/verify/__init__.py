"""Verification: anyone holding the snapshots, versions and declarations can check the archive.

archive.py    `verify_archive`: every version re-derived from its snapshots and declaration
records.py    checks of one version commit that need no extraction (format, citations, dates)
commits.py    authors and signatures of every commit
declared.py   the declaration in force at a date (git history, history file, current)
findings.py   findings and the report
"""

from ota.verify.archive import Selection, verify_archive
from ota.verify.findings import Finding, VerifyReport

__all__ = ["Finding", "Selection", "VerifyReport", "verify_archive"]
