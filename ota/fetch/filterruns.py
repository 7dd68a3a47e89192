"""JavaScript filter runs kept for a while, so that the same page filtered again costs no browser.

`ota verify` extracts a snapshot again with every declaration that might explain a version (the
one in force, those near its date, a later one calling for a technical upgrade); they often differ
only in `select` or `remove`, which the filters receive in their context but seldom look at. A run
is the same when the page, the filters module, the URL and the filters are the same, and either
the context is the same or the filters of the first run never looked at theirs (`Filtered`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from ota.fetch.jsfilters import Filtered

DEFAULT_PAGES = 16  # pages kept (each with its runs): often a few hundred KB each


class FilterRuns:
    """The latest `size` pages filtered, by what their filtering depends on (one process's runs)."""

    def __init__(self, size: int = DEFAULT_PAGES) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self.size = size
        self.runs = 0  # filterings done, for tests and benches
        self.reused = 0  # filterings saved
        self._pages: OrderedDict[str, list[tuple[str, asyncio.Future[Filtered]]]] = OrderedDict()

    async def filtered(
        self,
        *,
        page: str,
        module: str,
        url: str,
        filters: object,
        context: object,
        run: Callable[[], Awaitable[Filtered]],
    ) -> str:
        """The page filtered: by a run kept that gives it, or by `run()` (failed runs are not kept)."""
        key = _digest(page, module, url, repr(filters))
        context_key = json.dumps(context, sort_keys=True, default=repr)
        entries = self._pages.setdefault(key, [])
        self._pages.move_to_end(key)
        # The run with the same context first; then any whose filters did not look at theirs.
        for kept, future in sorted(entries, key=lambda entry: entry[0] != context_key):
            try:
                done = await asyncio.shield(future)
            except BaseException:
                if future.done():  # it failed, as its runner was told: run it here
                    continue
                raise  # this call is cancelled
            if kept == context_key or not done.read_context:
                self.reused += 1
                return done.html
        future = asyncio.ensure_future(run())
        entry = (context_key, future)
        entries.append(entry)
        self.runs += 1
        while len(self._pages) > self.size:
            self._pages.popitem(last=False)
        try:
            return (await asyncio.shield(future)).html
        except BaseException:
            if future.done() and entry in entries:
                entries.remove(entry)
            raise


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        encoded = part.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "big"))
        digest.update(encoded)
    return digest.hexdigest()
