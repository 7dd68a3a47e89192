"""Tools for contributors: write a declaration, check it, keep its file tidy; never record.

validate.py   `ota validate`: every problem of every declaration at once (schema, then live)
live.py       the live checks of one terms: fetched, selected, long enough, stable
lint.py       `ota lint`: Open Terms Archive's formatting of declaration files
propose.py    `ota new`: a declaration proposed for a page, its main content found by readability
selectors.py  stable CSS selectors for an element, and what to remove inside it
pages.py      fetching a source document as `ota track` does, and saving it as ota stores snapshots

Nothing here writes to a snapshots or versions repository: these commands fetch and extract in
memory, and write only the files a contributor asks for (a declaration, saved pages, a report).
"""
