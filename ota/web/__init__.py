"""`ota serve`: the viewer (pages), Open Terms Archive's Collection API and Atom feeds, read-only.

    app.py       create_app(settings): routes, the request guard (GET/HEAD, refresh, headers); serve()
    archive.py   what is read: the collection, the repositories, the index, caches
    index.py     the SQLite index of the versions history (no request walks git)
    counts.py    words and lines added and removed, computed once per version
    api.py       the Collection API (JSON), feeds.py its Atom feeds, openapi.py its description
    views.py     the pages; render.py turns hostile Markdown and diffs into safe HTML
    dates.py     dates as OTA's API writes and reads them

Import `ota.web.app` for the application: importing this package loads no web framework, so that
`ota dataset` can use `index` alone.
"""
