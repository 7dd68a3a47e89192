"""The JavaScript filters of a terms run on its pages before extraction, in Chromium
(`ota.fetch.jsfilters` loads a page and runs them; `ota.fetch.filterruns` gives again what was
filtered already, for `ota verify`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ota.errors import ExtractError
from ota.fetch.jsfilters import DEFAULT_TIMEOUT, JsFilterTabs, filter_context

if TYPE_CHECKING:
    from ota.declarations import SourceDocument
    from ota.declarations.collection import FilterFiles
    from ota.fetch.filterruns import FilterRuns


class JavaScriptPrefilter:
    """Runs a terms' JavaScript filters on its pages before extraction (`ota.fetch.pdftext.Prefilter`).

    For each HTML source document that names a filter of its service's `SERVICE_ID.filters.js`, the
    declared filters up to the last JavaScript one run in the browser (built-in filters among them
    by their JavaScript counterparts, in declared order); the filtered page goes on to extraction
    with the filters left, which are built-in or Python ones. A Python filter declared before a
    JavaScript one cannot run there: that terms fails, saying so. Pages without JavaScript filters
    pass through untouched, so only the terms that name one pay for the browser.
    """

    def __init__(
        self, tabs: JsFilterTabs, *, timeout: float = DEFAULT_TIMEOUT, runs: FilterRuns | None = None
    ) -> None:
        """`runs`: where pages filtered recently are kept, to be given again (`ota verify`)."""
        self._tabs = tabs
        self._timeout = timeout
        self._runs = runs
        self._modules: dict[tuple[Path, int, int], str] = {}

    async def __call__(
        self, sources: Sequence[tuple[SourceDocument, bytes, str]], files: FilterFiles
    ) -> list[tuple[SourceDocument, bytes, str]]:
        filtered = []
        for document, content, mime_type in sources:
            names = [ref.name for ref in document.filters]
            javascript = [i for i, name in enumerate(names) if name in files.javascript_names]
            if not javascript or files.javascript is None or mime_type == "application/pdf":
                filtered.append((document, content, mime_type))
                continue
            cut = javascript[-1] + 1
            python = [name for name in names[:cut] if name in files.python_names]
            if python:
                raise ExtractError(
                    f"The filter {python[0]!r} of {files.python.name if files.python else 'filters.py'} is "
                    f"declared before the JavaScript filter {names[javascript[-1]]!r}: ota runs JavaScript "
                    "filters first; declare the Python ones after them"
                )
            page = content.decode("utf-8", errors="replace")
            module_source = self._module(files.javascript)
            run = functools.partial(
                self._tabs.run,
                page,
                url=document.location,
                module_source=module_source,
                module_name=files.javascript.name,
                filters=document.filters[:cut],
                document=document,
                timeout=self._timeout,
            )
            if self._runs is None:
                html = (await run()).html
            else:
                html = await self._runs.filtered(
                    page=page,
                    module=module_source,
                    url=document.location,
                    filters=document.filters[:cut],
                    context=filter_context(document, document.filters[:cut]),
                    run=run,
                )
            filtered.append(
                (replace(document, filters=document.filters[cut:]), html.encode("utf-8"), mime_type)
            )
        return filtered

    def _module(self, path: Path) -> str:
        """The module's source, read once per version of the file."""
        try:
            stat = path.stat()
            key = (path, stat.st_mtime_ns, stat.st_size)
            if key not in self._modules:
                if len(self._modules) >= 256:  # a collection's worth of services; then start afresh
                    self._modules.clear()
                self._modules[key] = path.read_text("utf-8")
            return self._modules[key]
        except (OSError, UnicodeDecodeError) as error:
            raise ExtractError(f"{path}: cannot be read: {error}") from error
