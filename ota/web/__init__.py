"""`ota serve`: the viewer (pages), Open Terms Archive's Collection API and Atom feeds, read-only.

    app.py            create_app(settings): routes, the request guard (GET/HEAD, refresh, headers); serve()
    archive.py        what is read: the collection, the repositories, the index, caches
    index.py          the SQLite index of the versions history (no request walks git)
    rows.py           what a row of that index is (Version, TermsSummary) and its counts to fill
    sqlite.py         the viewer's SQLite files opened, checked for damage, removed
    counts.py         words and lines added and removed, computed once per version
    search.py         search through history (a second SQLite file); search_pages.py its page and API
    api.py            the Collection API (JSON), feeds.py its Atom feeds, openapi.py its description
    views.py          the pages; render.py turns hostile Markdown into safe HTML
    rendered_diff.py  what changed between two versions, shown rendered
    snapshots.py      the snapshots behind the versions, with their context, and downloads
    cite.py           how a version is cited (plain text, BibTeX, CSL-JSON)
    health.py         whether each terms is still tracked, from the status file
    dates.py          dates as OTA's API writes and reads them

Import `ota.web.app` for the application: importing this package loads no web framework.
"""
