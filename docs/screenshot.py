"""Take docs/diff.png: a diff page of ota's viewer, in Debian's headless Chromium (Playwright).

    .venv/bin/python docs/screenshot.py

A small collection is recorded with `ota.store.repository.Repository` (one paragraph of a privacy
policy reworded), served by `ota serve`'s app on 127.0.0.1, and the diff page is captured.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from playwright.sync_api import sync_playwright

from ota.settings import load_settings
from ota.store.repository import Repository
from tests.serving import served

BEFORE = """Privacy Policy
==============

Last updated: March 2025

1\\. What we collect
------------------

We collect the information you give us when you create an account, such as your name, your email address and your date of birth. We also collect the content you post, the messages you send and the people you follow.

We collect information about the devices you use, including your IP address, the browser you use and the pages you visit, so that we can keep the service secure.

2\\. How we use it
----------------

We use your information to provide and improve the service, to show you content you may like, and to keep you and others safe.

We may share your information with advertisers in an aggregated form that does not identify you.

3\\. How long we keep it
----------------------

We keep your information for as long as your account is open, and for 30 days after you close it.

4\\. Your rights
--------------

You can access, correct and delete your information at any time from your settings."""

AFTER = (
    BEFORE.replace("Last updated: March 2025", "Last updated: June 2025")
    .replace(
        "We may share your information with advertisers in an aggregated form that does not identify you.",
        "We may share your information with advertisers and with our partners, including in a form that "
        "identifies you when you have consented to it.",
    )
    .replace("for 30 days after you close it.", "for 180 days after you close it, and longer when the law requires it.")
    .replace(
        "so that we can keep the service secure.",
        "so that we can keep the service secure and measure the performance of advertising.",
    )
)


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="ota-screenshot-"))
    declarations = root / "declarations"
    declarations.mkdir()
    (declarations / "Chirp.json").write_text(
        '{"name": "Chirp", "terms": {"Privacy Policy": {"fetch": "https://chirp.example/privacy", "select": "main"}}}',
        "utf-8",
    )
    (root / "metadata.yml").write_text("id: demo\nname: Demo collection\n", "utf-8")
    repo = Repository.open(root / "versions")
    message = "{} Chirp Privacy Policy\n\nThis version was recorded after extracting from snapshot {}\n"
    repo.commit("Chirp/Privacy Policy.md", BEFORE.encode(), message=message.format("First record of", "a" * 40),
                date=datetime(2025, 3, 2, 6, 30, tzinfo=UTC))
    new = repo.commit("Chirp/Privacy Policy.md", AFTER.encode(), message=message.format("Record new changes of", "b" * 40),
                      date=datetime(2025, 6, 14, 18, 30, tzinfo=UTC))
    repo.close()
    settings = load_settings(
        overrides={
            "collection.declarations": declarations,
            "collection.versions": root / "versions",
            "collection.snapshots": root / "snapshots",
        }
    )
    output = Path(__file__).resolve().parent / "diff.png"
    with served(settings) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", chromium_sandbox=os.geteuid() != 0)
        page = browser.new_page(viewport={"width": 1000, "height": 900}, device_scale_factor=1)
        page.goto(f"{url}/versions/{new}/diff")
        page.screenshot(path=str(output), full_page=True)
        browser.close()
    print(output)


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    main()
