"""`ota verify` on repositories written by Open Terms Archive's engine, rebuilt from the corpus.

    .venv/bin/python bench/verify_compat.py --corpus ../shared/compat-corpus --out /tmp/otarchive \
        [--filters bench/compat-filters | --javascript-filters] [--json report.json]

From each case of the compatibility corpus (../shared/compat-corpus/README.md), this assembles
what an Open Terms Archive collection holds, in OTA's formats (OTA-FORMATS §6):

- `declarations/`: a git repository; each terms' declaration is committed at the date of the
  declarations commit the case names (`declarations_commit_date`), so the history says which
  declaration was in force when;
- `snapshots/`: every snapshot a case cites, dated when OTA fetched it, with OTA's messages and
  trailers (`X-engine-version`, `X-fetcher`, `X-source-document-location`);
- `versions/`: every version (`expected.md`), dated as OTA dated it, citing the rebuilt snapshots,
  with the subject of its kind and the engine version that recorded it (none for old engines).

Service filters: the corpus leaves out OTA's JavaScript filters. By default their Python
equivalents (`--filters`, bench/compat-filters) are put beside the declarations, as an ota
collection would have them; `--javascript-filters` puts a `SERVICE_ID.filters.js` naming them
instead (its functions are not in the corpus), so those versions need the JavaScript filter.

Then `ota verify` runs unchanged on the three and the script prints its summary, the causes of
the explained differences, and the corpus' reference (what OTA's own extraction code gives).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ota.declarations import STANDARD_TERMS_TYPES
from ota.settings import CollectionSettings, Settings
from ota.store.repository import Repository
from ota.verify import verify_archive

HERE = Path(__file__).resolve().parent
SUBJECTS = {
    "first": "First record of",
    "change": "Record new changes of",
    "upgrade": "Apply technical or declaration upgrade on",
}
LINK = "https://github.com/OpenTermsArchive/{collection}-snapshots/commit/%SNAPSHOT_ID"


def date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def load_cases(corpus: Path) -> list[dict[str, Any]]:
    cases = []
    for meta in sorted(corpus.glob("*/case.json")):
        case = json.loads(meta.read_text("utf-8"))
        case["folder"] = meta.parent
        case["declaration"] = json.loads((meta.parent / "declaration.json").read_text("utf-8"))
        cases.append(case)
    return cases


def trailers(values: dict[str, str | None]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in values.items() if value)


def message(*paragraphs: str) -> str:
    return "\n\n".join(p for p in paragraphs if p) + "\n"


def build_declarations(
    cases: list[dict[str, Any]], folder: Path, filters: Path | None, javascript: bool
) -> None:
    """A declarations git repository: each terms' declaration committed at the date it was in force."""
    folder.mkdir(parents=True)
    subprocess.run(["git", "-C", str(folder), "init", "-q", "-b", "main"], check=True)
    events: dict[datetime, list[dict[str, Any]]] = defaultdict(list)
    for case in cases:
        events[date(case["declarations_commit_date"])].append(case)
    services: dict[str, dict[str, Any]] = {}
    filter_names: dict[str, set[str]] = defaultdict(set)
    for case in cases:
        filter_names[case["service"]].update(case["js_filters"])
    first = True
    for when in sorted(events):
        for case in events[when]:
            service = services.setdefault(case["service"], {"name": case["declaration"]["name"], "terms": {}})
            service["terms"][case["terms_type"]] = case["declaration"]["terms"][case["terms_type"]]
        for service_id, service in services.items():
            (folder / f"{service_id}.json").write_text(json.dumps(service, indent=2) + "\n", "utf-8")
        if first:
            for service_id, names in filter_names.items():
                python = filters / f"{service_id}.filters.py" if filters else None
                if names and python is not None and python.is_file() and not javascript:
                    shutil.copy(python, folder / python.name)
                elif names:
                    # The functions are in the collection's repository, not in the corpus: names only.
                    exports = "\n".join(f"export function {name}() {{}}" for name in sorted(names))
                    (folder / f"{service_id}.filters.js").write_text(exports + "\n", "utf-8")
            first = False
        stamp = f"{int(when.timestamp())} +0000"
        env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        env |= {"GIT_AUTHOR_NAME": "Contributor", "GIT_AUTHOR_EMAIL": "contributor@example.org"}
        env |= {"GIT_COMMITTER_NAME": "Contributor", "GIT_COMMITTER_EMAIL": "contributor@example.org"}
        subprocess.run(["git", "-C", str(folder), "add", "-A"], check=True)
        subprocess.run(
            [
                "git",
                "-C",
                str(folder),
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                f"Declarations of {when:%Y-%m-%d}",
            ],
            check=True,
            env=env,
        )


def build_records(cases: list[dict[str, Any]], out: Path) -> int:
    """Snapshots and versions repositories in OTA's formats; returns the number of versions recorded."""
    snapshot_events = {}
    for case in cases:
        for index, original in enumerate(case["snapshot_commits"]):
            snapshot_events.setdefault(original, (case, index))
    new_ids: dict[str, str] = {}
    with Repository.open(out / "snapshots") as snapshots:
        seen: set[str] = set()
        for original, (case, index) in sorted(
            snapshot_events.items(), key=lambda item: date(item[1][0]["snapshot_dates"][item[1][1]])
        ):
            name = case["snapshot_files"][index]
            path = f"{case['service']}/{name}"
            document_id = name.split(" #", 1)[1].rsplit(".", 1)[0] if " #" in name else ""
            subject = f"{'Record new changes of' if path in seen else 'First record of'} {case['service']} "
            subject += case["terms_type"]
            text = message(
                subject,
                f"Document ID {document_id}" if document_id else "",
                trailers(
                    {
                        "X-engine-version": case["engine_version"],
                        "X-fetcher": case["snapshot_fetchers"][index],
                        "X-source-document-location": case["snapshot_locations"][index],
                    }
                ),
            )
            content = (case["folder"] / "snapshots" / name).read_bytes()
            when = date(case["snapshot_dates"][index])
            commit_id = snapshots.commit(path, content, message=text, date=when)
            if commit_id is None:  # the same bytes as the snapshot before: OTA recorded none either
                last = snapshots.last_change(path)
                assert last is not None
                commit_id = last[0]
            new_ids[original] = commit_id
            seen.add(path)
    recorded = 0
    with Repository.open(out / "versions") as versions:
        seen = set()
        for case in sorted(cases, key=lambda c: date(c["version_date"])):
            path = f"{case['service']}/{case['terms_type']}.md"
            kind = case["version_kind"] if path in seen else "first"
            links = [
                LINK.format(**case).replace("%SNAPSHOT_ID", new_ids[c]) for c in case["snapshot_commits"]
            ]
            if len(links) == 1:
                sources = f"This version was recorded after extracting from snapshot {links[0]}"
            else:
                sources = "\n".join(
                    [
                        "This version was recorded after extracting from and assembling the following "
                        f"snapshots from {len(links)} source documents:",
                        *(f"- {link}" for link in links),
                    ]
                )
            text = message(
                f"{SUBJECTS[kind]} {case['service']} {case['terms_type']}",
                sources,
                trailers({"X-engine-version": case["engine_version"]}),
            )
            content = (case["folder"] / "expected.md").read_bytes()
            if versions.commit(path, content, message=text, date=date(case["version_date"])) is not None:
                recorded += 1
                seen.add(path)
    return recorded


def cause_of(finding: dict[str, Any]) -> str:
    """A finding's cause, without the commit or date that makes each one unique."""
    cause = finding.get("cause") or finding["message"]
    for marker in (": declarations commit", ": Open Terms Archive", " (declarations commit"):
        cause = cause.split(marker, 1)[0]
    if cause.startswith("recorded by Open Terms Archive's engine"):
        return "recorded by another engine version (Open Terms Archive's)"
    return cause


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "compat-corpus")
    parser.add_argument("--out", type=Path, required=True, help="folder to build the three repositories in")
    parser.add_argument("--filters", type=Path, default=HERE / "compat-filters")
    parser.add_argument("--javascript-filters", action="store_true", help="keep OTA's JavaScript filters")
    parser.add_argument("--json", type=Path, help="write every finding to this file")
    options = parser.parse_args()
    cases = load_cases(options.corpus)
    if options.out.exists():
        shutil.rmtree(options.out)
    build_declarations(cases, options.out / "declarations", options.filters, options.javascript_filters)
    recorded = build_records(cases, options.out)
    print(f"built from {len(cases)} cases: {recorded} versions (a text equal to the one before is no commit)")
    types = sorted({case["terms_type"] for case in cases} - STANDARD_TERMS_TYPES)
    settings = Settings(
        collection=CollectionSettings(
            declarations=options.out / "declarations",
            snapshots=options.out / "snapshots",
            versions=options.out / "versions",
            terms_types=tuple(types),
        )
    )
    report = asyncio.run(verify_archive(settings))
    for line in report.summary_lines(limit=0):
        print(line)
    data = [finding.as_json() for finding in report.findings]
    by_cause = Counter((f["severity"], f["check"], cause_of(f)) for f in data if f["severity"] != "notice")
    for (severity, check, cause), count in by_cause.most_common():
        print(f"  {count:4} {severity} ({check}): {cause}")
    notices = Counter(cause_of(f) for f in data if f["severity"] == "notice")
    for cause, count in notices.most_common():
        print(f"  {count:4} notice: {cause}")
    reference = options.corpus / "reference-check.json"
    if reference.is_file():
        rows = json.loads(reference.read_text("utf-8"))["cases"]
        matches = sum(1 for row in rows if row["result"] == "match")
        print(
            f"reference: Open Terms Archive's own extraction code (v14.1.0) reproduces {matches} of "
            f"{len(rows)} cases byte for byte (the PDF case was not run)"
        )
    if options.json:
        report.write_json(options.json)


if __name__ == "__main__":
    main()
