"""Tests of OTA's JavaScript filters run in a real headless Chromium (ota.fetch.jsfilters).

Pages are loaded as if served from their URL, with no network: the tests check that no request
reaches a real server on 127.0.0.1 that the page points at."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pytest_httpserver import HTTPServer

from ota.declarations import STANDARD_TERMS_TYPES, FilterRef, RangeSelector, SourceDocument, parse_service
from ota.declarations.collection import FilterFiles
from ota.errors import ExtractError, OtaError
from ota.extract import extract
from ota.extract.filters import BUILTIN_FILTERS
from ota.extract.html import html_to_markdown
from ota.fetch.browser import Browser
from ota.fetch.filterruns import FilterRuns
from ota.fetch.jsfilters import BUILTIN_FILTERS_SOURCE, JsFilterTabs, apply_js_filters
from ota.fetch.jsprefilter import JavaScriptPrefilter
from tests.conftest import SharedChromium, needs_chromium

T = TypeVar("T")
pytestmark = [pytest.mark.browser, needs_chromium]

URL = "https://example.com/legal/terms"
PAGE = """<!DOCTYPE html>
<html><head><base href="/docs/"><title>Terms</title>
<script>document.title = "scripted";</script></head>
<body onload="document.body.dataset.loaded = 'yes'">
<main>
<noscript><p>Please enable <b>JavaScript</b>.</p></noscript>
<p>Read\u00a0our <a href="terms?fbclid=1&amp;lang=en">terms</a> and
<a href="https://example.com/redirect/AbC123/privacy">privacy\u2009policy</a>.</p>
<img src="logo.png?gclid=2&amp;v=3" alt="Logo" onerror="document.body.dataset.failed = 'yes'">
</main>
</body></html>"""
DOCUMENT = SourceDocument(
    URL,
    select=("main",),
    remove=(".ads", RangeSelector(start_before="#a", end_after="#b")),
    filters=(FilterRef("removeRedirectFromLinks"),),
)
MODULE = r"""
export function removeRedirectFromLinks(document) {
  const links = document.querySelectorAll('a');
  links.forEach(link => { link.href = link.href.replace(/\/redirect\/[^/]+\//, '/'); });
}

export const recordContext = (document, context) => {
  document.querySelector('main').dataset.context = JSON.stringify(context);
};

export async function appendParameters(document, parameters, context) {
  await new Promise(resolve => setTimeout(resolve, 10));
  document.querySelector('main').append(` ${JSON.stringify(parameters)} for ${context.fetch}`);
}

export function describePage(document) {
  const main = document.querySelector('main');
  main.dataset.url = document.URL;
  main.dataset.title = document.title;
  main.dataset.noscriptBold = document.querySelectorAll('noscript b').length;
  main.dataset.located = document.location.href;
  main.dataset.mode = document.compatMode;
}

export function failing(document) {
  return document.querySelector('#missing').href;
}

export function looping() {
  for (;;) {}
}

export function removeQueryParams() {
  throw new Error('the built-in filter comes first');
}

function unexported() {}
"""


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def apply(
    shared_chromium: SharedChromium,
    filters: tuple[FilterRef, ...],
    *,
    html: str = PAGE,
    module: str = MODULE,
    document: SourceDocument = DOCUMENT,
    url: str = URL,
    timeout: float = 10,
) -> str:
    return shared_chromium.run(
        apply_js_filters(
            shared_chromium.browser,
            html,
            url=url,
            module_source=module,
            module_name="Example.filters.js",
            filters=filters,
            document=document,
            timeout=timeout,
        )
    )


def error_of(shared_chromium: SharedChromium, filters: tuple[FilterRef, ...], **options: Any) -> str:
    with pytest.raises(ExtractError) as caught:
        apply(shared_chromium, filters, **options)
    return str(caught.value)


def test_filters_edit_the_page_in_order_with_otas_calling_convention(shared_chromium: SharedChromium) -> None:
    """Bare names get (document, context); names with parameters get (document, parameters, context)."""
    result = apply(
        shared_chromium,
        (
            FilterRef("removeRedirectFromLinks"),
            FilterRef("recordContext"),
            FilterRef("appendParameters", ("a", 1), has_parameters=True),
        ),
    )
    assert result.startswith("<!DOCTYPE html><html><head>")
    # `link.href` resolved against the page's URL and its <base>; the filter wrote it back.
    assert '<a href="https://example.com/docs/terms?fbclid=1&amp;lang=en">terms</a>' in result
    assert '<a href="https://example.com/privacy">privacy\u2009policy</a>' in result
    context = re.search(r'data-context="([^"]*)"', result)
    assert context is not None
    assert json.loads(context.group(1).replace("&quot;", '"')) == {
        "fetch": URL,
        "select": "main",
        "remove": [".ads", {"startBefore": "#a", "endAfter": "#b"}],
        "filter": ["removeRedirectFromLinks", "recordContext", "appendParameters"],
    }
    assert f' ["a",1] for {URL}</main>' in result


def test_the_page_is_parsed_with_scripting_off_and_its_scripts_never_run(
    shared_chromium: SharedChromium,
) -> None:
    """As jsdom: <noscript> holds markup, scripts and event handlers do not run, the URL is the page's."""
    result = apply(shared_chromium, (FilterRef("describePage"),), url=URL + "#section")
    assert f'data-url="{URL}#section"' in result
    assert f'data-located="{URL}#section"' in result
    assert 'data-title="Terms"' in result
    assert 'data-noscript-bold="1"' in result
    assert "<noscript><p>Please enable <b>JavaScript</b>.</p></noscript>" in result
    assert "data-loaded" not in result and "data-failed" not in result
    assert 'data-mode="CSS1Compat"' in result


def test_a_page_without_doctype_is_in_quirks_mode_after_one_with(shared_chromium: SharedChromium) -> None:
    """Pages written one after another into the same frame each get their own document mode."""

    async def go() -> list[str]:
        tabs = JsFilterTabs(shared_chromium.browser, size=1)
        options: dict[str, Any] = {"url": URL, "module_source": MODULE, "module_name": "M"}
        options["document"] = DOCUMENT
        try:
            return [
                await tabs.apply(html, filters=(FilterRef("describePage"),), **options)
                for html in (PAGE, "<main><p>No doctype</p></main>", PAGE)
            ]
        finally:
            await tabs.aclose()

    results = shared_chromium.run(go())
    assert ['data-mode="CSS1Compat"' in r for r in results] == [True, False, True]
    assert 'data-mode="BackCompat"' in results[1]


def test_what_a_pages_filters_leave_never_reaches_the_next_page_of_the_frame(
    shared_chromium: SharedChromium,
) -> None:
    """A timer a filter leaves running is cleared with its page (OTA serialises a page as its last
    filter returns), and a property set on the document object does not stay for the next page."""
    module = r"""
export function leave(document) {
  setInterval(() => document.body.append('LEFT BY AN INTERVAL'), 10);
  setTimeout(() => document.body.append('LEFT BY A TIMEOUT'), 150);
  document.leftOnTheDocument = 'LEFT ON THE DOCUMENT';
}
export async function look(document) {
  await new Promise(resolve => setTimeout(resolve, 400));
  document.body.append(String(document.leftOnTheDocument));
}
"""

    async def go() -> list[str]:
        tabs = JsFilterTabs(shared_chromium.browser, size=1)
        options: dict[str, Any] = {"url": URL, "module_source": module, "module_name": "M"}
        try:
            return [
                await tabs.apply(PAGE, filters=(FilterRef(name),), document=DOCUMENT, **options)
                for name in ("leave", "look")
            ]
        finally:
            await tabs.aclose()

    _, later = shared_chromium.run(go())
    assert "LEFT BY" not in later and "LEFT ON THE DOCUMENT" not in later
    assert "undefined" in later


def test_a_declared_url_is_the_document_url_as_browsers_write_it(shared_chromium: SharedChromium) -> None:
    """Upper-case hosts, spaces, non-ASCII paths and host names load, canonicalised as by jsdom."""
    declared = "https://Bücher.EXAMPLE:443/a b/é?x=ü#top"
    document = SourceDocument(declared, select=("main",))
    result = apply(shared_chromium, (FilterRef("describePage"),), url=declared, document=document)
    assert 'data-url="https://xn--bcher-kva.example/a%20b/%C3%A9?x=%C3%BC#top"' in result
    assert 'data-title="Terms"' in result


def test_no_request_leaves_the_browser(shared_chromium: SharedChromium, httpserver: HTTPServer) -> None:
    """The page, its images, styles, scripts, frames and prefetches are never requested."""
    httpserver.expect_request("/").respond_with_data("should not be requested")
    origin = httpserver.url_for("/").rstrip("/")
    html = f"""<!DOCTYPE html><html><head>
    <link rel="stylesheet" href="{origin}/style.css"><script src="{origin}/app.js"></script>
    <link rel="preconnect" href="{origin}"><link rel="dns-prefetch" href="{origin}">
    <link rel="prefetch" href="{origin}/next"><link rel="preload" href="{origin}/font.woff2" as="font">
    <meta http-equiv="refresh" content="0; url={origin}/refreshed"></head>
    <body><main><img src="{origin}/a.png"><img srcset="{origin}/b.png 2x"><iframe src="{origin}/frame">
    </iframe><video poster="{origin}/poster.jpg" src="{origin}/v.mp4"></video><object data="{origin}/o.swf">
    </object><form action="{origin}/post"><input type="image" src="{origin}/button.png"></form>
    <p style="background: url({origin}/bg.png)">Terms</p></main></body></html>"""
    document = SourceDocument(f"{origin}/terms", select=("main",))
    result = apply(
        shared_chromium, (FilterRef("describePage"),), html=html, url=document.location, document=document
    )
    assert "Terms</p>" in result
    assert httpserver.log == []


def test_a_throwing_filter_fails_with_otas_message(shared_chromium: SharedChromium) -> None:
    """The message is OTA's, with JavaScript's `String(error)`."""
    assert error_of(shared_chromium, (FilterRef("removeRedirectFromLinks"), FilterRef("failing"))) == (
        "The filter function \"failing\" failed: TypeError: Cannot read properties of null (reading 'href')"
    )


def test_built_in_filters_are_looked_up_before_the_services(shared_chromium: SharedChromium) -> None:
    """`removeQueryParams` is ota's, even when the module exports one of that name."""
    result = apply(shared_chromium, (FilterRef("removeQueryParams"),))
    assert '<a href="https://example.com/docs/terms?lang=en">terms</a>' in result
    assert '<img src="https://example.com/docs/logo.png?v=3"' in result


def test_an_unknown_filter_is_an_error_listing_the_available_ones(shared_chromium: SharedChromium) -> None:
    """Built-in and exported functions are listed; helpers that are not exported are not."""
    assert error_of(shared_chromium, (FilterRef("removeRedirectFromLinks"), FilterRef("typo"))) == (
        'Unknown filter "typo"; the filters available are: appendParameters, convertSpacesToStandard, '
        "describePage, failing, looping, recordContext, removeQueryParams, removeRedirectFromLinks"
    )


@pytest.mark.parametrize(
    ("module", "reason"),
    [
        ("export function broken( {", "SyntaxError: Unexpected end of input"),
        (
            "import lodash from 'lodash';\nexport function x() {}",
            'TypeError: Failed to resolve module specifier "lodash". Relative references must start '
            'with either "/", "./", or "../".',
        ),
        ("throw new RangeError('at load time');", "RangeError: at load time"),
    ],
)
def test_a_module_that_cannot_load_is_an_error_naming_it(
    shared_chromium: SharedChromium, module: str, reason: str
) -> None:
    """Syntax errors, bare import specifiers and top-level errors name the module."""
    message = error_of(shared_chromium, (FilterRef("x"),), module=module)
    assert message == f"The JavaScript filters 'Example.filters.js' could not be loaded: {reason}"


def test_a_filter_that_never_finishes_times_out_and_its_tab_is_replaced(
    shared_chromium: SharedChromium,
) -> None:
    """The renderer stuck in the loop is ended; the next page gets a new tab."""

    async def go() -> tuple[str, str]:
        chromium = shared_chromium.browser
        tabs = JsFilterTabs(chromium, size=1)
        options: dict[str, Any] = {
            "url": URL,
            "module_source": MODULE,
            "module_name": "Example.filters.js",
            "document": DOCUMENT,
            "timeout": 1,
        }
        try:
            with pytest.raises(ExtractError) as caught:
                await tabs.apply(PAGE, filters=(FilterRef("looping"),), **options)
            after = await tabs.apply(PAGE, filters=(FilterRef("describePage"),), **options)
            return str(caught.value), after
        finally:
            await tabs.aclose()

    message, after = shared_chromium.run(go())
    assert message == 'The filter function "looping" did not finish within 1 seconds'
    assert 'data-title="Terms"' in after


def test_reused_tabs_give_what_fresh_contexts_give(shared_chromium: SharedChromium) -> None:
    """Pages of several origins, four at a time in two tabs, each filtered as if alone."""
    pages = [(f"https://site{n % 3}.example/terms/{n}", f"<main><p>Page {n}</p></main>") for n in range(8)]

    async def go() -> tuple[list[str], list[str], int]:
        chromium = shared_chromium.browser
        before = chromium.launches - (1 if chromium.running else 0)  # the launch this test may make
        tabs = JsFilterTabs(chromium, size=2)
        filters = (FilterRef("describePage"),)

        def options(url: str) -> dict[str, Any]:
            document = SourceDocument(url, select=("main",))
            return {
                "url": url,
                "module_source": MODULE,
                "module_name": "M",
                "filters": filters,
                "document": document,
            }

        try:
            reused = await asyncio.gather(*(tabs.apply(html, **options(url)) for url, html in pages))
            fresh = [await apply_js_filters(chromium, html, **options(url)) for url, html in pages]
            return list(reused), fresh, chromium.launches - before
        finally:
            await tabs.aclose()

    reused, fresh, launched = shared_chromium.run(go())
    assert reused == fresh
    assert [f'data-url="{url}"' in result for (url, _), result in zip(pages, reused, strict=True)] == [
        True
    ] * 8
    assert launched == 1  # all in one Chromium


def test_a_pages_own_content_security_policy_does_not_outlive_it(shared_chromium: SharedChromium) -> None:
    """A policy a page sets (<meta http-equiv>) holds for it, as when loaded alone, not for the next."""
    module = "export function w(document) { document.querySelector('main').innerHTML = '<b>written</b>'; }"
    strict = """<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy"
    content="require-trusted-types-for 'script'"></head><body><main>1</main></body></html>"""
    document = SourceDocument(URL, select=("main",), filters=(FilterRef("w"),))

    async def go() -> list[str]:
        tabs = JsFilterTabs(shared_chromium.browser, size=1)
        options: dict[str, Any] = {"url": URL, "module_source": module, "module_name": "M"}
        options.update(filters=document.filters, document=document)
        results = []
        try:
            for html in (strict, "<!DOCTYPE html><main>2</main>"):
                try:
                    results.append(await tabs.apply(html, **options))
                except ExtractError as error:
                    results.append(str(error))
            return results
        finally:
            await tabs.aclose()

    strict_result, after = shared_chromium.run(go())
    assert "requires 'TrustedHTML' assignment" in strict_result
    assert "<main><b>written</b></main>" in after


def test_tabs_keep_the_runners_of_origins_that_come_in_turns(shared_chromium: SharedChromium) -> None:
    """Pages of two origins in turns, one at a time: with two tabs kept, each origin keeps its own
    (no new runner per page); with one, the tab goes from one origin to the other. Same pages."""
    pages = [(f"https://site{n % 2}.example/terms/{n}", f"<main><p>Page {n}</p></main>") for n in range(6)]

    async def go(keep: int) -> tuple[list[str], int]:
        tabs = JsFilterTabs(shared_chromium.browser, size=1, keep=keep)
        try:
            results = []
            for url, html in pages:
                document = SourceDocument(url, select=("main",))
                options: dict[str, Any] = {"url": url, "module_source": MODULE, "module_name": "M"}
                filters = (FilterRef("describePage"),)
                results.append(await tabs.apply(html, filters=filters, document=document, **options))
            return results, tabs.opened
        finally:
            await tabs.aclose()

    async def concurrently() -> tuple[list[str], int]:
        tabs = JsFilterTabs(shared_chromium.browser, size=2, keep=3)
        filters = (FilterRef("describePage"),)
        options: dict[str, Any] = {"module_source": MODULE, "module_name": "M", "filters": filters}
        try:
            results = await asyncio.gather(
                *(
                    tabs.apply(html, url=url, document=SourceDocument(url, select=("main",)), **options)
                    for url, html in pages
                )
            )
            return list(results), tabs.opened
        finally:
            await tabs.aclose()

    kept, opened_kept = shared_chromium.run(go(2))
    moved, opened_moved = shared_chromium.run(go(1))
    together, opened_together = shared_chromium.run(concurrently())
    assert (opened_kept, opened_moved) == (2, 1)
    assert opened_together <= 3  # two at a time; a third tab at most, never more than kept
    assert kept == moved == together
    assert [f'data-url="{url}"' in result for (url, _), result in zip(pages, kept, strict=True)] == [True] * 6


def test_the_built_in_filters_give_the_markdown_of_their_python_twins(
    shared_chromium: SharedChromium,
) -> None:
    """Every built-in filter has a JavaScript twin (and only they do) that gives the Markdown its
    Python twin gives: each filter alone, all of them in a row, and removeQueryParams's parameters."""
    exported = re.findall(r"^export (?:async )?function (\w+)", BUILTIN_FILTERS_SOURCE, re.MULTILINE)
    assert sorted(exported) == sorted(BUILTIN_FILTERS)
    cases: list[tuple[FilterRef, ...]] = [(FilterRef(name),) for name in sorted(BUILTIN_FILTERS)]
    cases.append(tuple(FilterRef(name) for name in sorted(BUILTIN_FILTERS)))
    cases += [
        (FilterRef("removeQueryParams", ("lang", "v"), has_parameters=True),),
        (FilterRef("removeQueryParams", "v", has_parameters=True),),
    ]
    for filters in cases:
        document = SourceDocument(URL, select=("main",), filters=filters)
        in_browser = apply(shared_chromium, filters, module="export {};", document=document)
        without_filters = SourceDocument(URL, select=("main",))
        assert html_to_markdown(in_browser, without_filters) == html_to_markdown(PAGE, document), filters


def test_a_missing_chromium_is_a_clear_extract_error() -> None:
    """Without Chromium the error says what to install."""

    async def go() -> None:
        await apply_js_filters(
            Browser("/nonexistent/chromium", user_agent="ota-test", accept_language="en"),
            PAGE,
            url=URL,
            module_source=MODULE,
            module_name="Example.filters.js",
            filters=(FilterRef("describePage"),),
            document=DOCUMENT,
        )

    with pytest.raises(ExtractError) as caught:
        run(go())
    assert str(caught.value) == (
        "Cannot run the JavaScript filters 'Example.filters.js': Chromium is not installed at "
        "'/nonexistent/chromium'; install Debian's chromium package (apt-get install chromium)"
    )


# Markup whose tree browsers build in ways a serialiser must take care to give back.
ROUND_TRIPS = {
    "newline after <pre>": (
        "<main><pre>\n\nline 1\nline 2</pre><textarea>\n\nt</textarea><listing>\n\nl</listing></main>"
    ),
    "content in <select>": (
        "<main><p>a</p><select><option>A</option><div>b <b>c</b></div></select><p>d</p></main>"
    ),
    "<noscript> in <head>": (
        "<head><noscript><style>p {}</style><p>in head</p></noscript></head><main><p>x</p></main>"
    ),
    "<template>": "<main><template><p>template</p></template><p>x</p></main>",
    "foster parenting": "<main><table><tr><td>a</td></tr>text<p>para</p><tr><td>b</td></table></main>",
    "characters": (
        "<main><p title='a&lt;b&gt;&quot;'>&amp;lt; &nbsp; &#128512; \x00 \x0c \r\n &#xD800;</p></main>"
    ),
    "foreign content": (
        "<main><svg><![CDATA[x <b>y</b>]]><title>t</title></svg><math><mi>m</mi></math></main>"
    ),
    "misnested": "<main><a href=x>1<a href=y>2</a></a><form><p>a<form><p>b</form></form><p>c<table>d</main>",
}


def test_a_no_op_filter_gives_back_the_tree_lexbor_parses(shared_chromium: SharedChromium) -> None:
    """Serialised by Chromium and parsed again, tricky markup gives the Markdown it gives directly."""
    document = SourceDocument(URL, select=("main",))

    async def go() -> dict[str, str]:
        chromium = shared_chromium.browser
        tabs = JsFilterTabs(chromium, size=1)
        try:
            return {
                name: await tabs.apply(
                    html,
                    url=URL,
                    module_source="export function noop() {}",
                    module_name="noop.filters.js",
                    filters=(FilterRef("noop"),),
                    document=document,
                )
                for name, html in ROUND_TRIPS.items()
            }
        finally:
            await tabs.aclose()

    filtered = shared_chromium.run(go())
    differing = [
        name
        for name, html in ROUND_TRIPS.items()
        if html_to_markdown(filtered[name], document) != html_to_markdown(html, document)
    ]
    assert differing == []


# -- fidelity on the compatibility corpus ---------------------------------------------------------

COMPAT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "compat-corpus"
COMPAT_FILTERS = Path(__file__).resolve().parents[1] / "bench" / "compat-filters"


@pytest.mark.compat
@pytest.mark.skipif(not COMPAT_CORPUS.is_dir(), reason="needs ../shared/compat-corpus")
def test_a_no_op_filter_changes_no_markdown_of_the_corpus(shared_chromium: SharedChromium) -> None:
    """The page serialised by Chromium and parsed again by lexbor gives the same Markdown (or error)."""
    from ota.declarations.service_filters import load_service_filters

    cases = []
    for folder in sorted(p.parent for p in COMPAT_CORPUS.glob("*/case.json")):
        meta = json.loads((folder / "case.json").read_text("utf-8"))
        if meta["mime"] != "text/html":
            continue
        data = json.loads((folder / "declaration.json").read_text("utf-8"))
        types = frozenset(STANDARD_TERMS_TYPES) | frozenset(data["terms"])
        terms = parse_service(meta["service"], data, path=folder, terms_types=types).terms[meta["terms_type"]]
        path = COMPAT_FILTERS / f"{meta['service']}.filters.py"
        filters = load_service_filters(path) if path.is_file() else None
        for document, name in zip(terms.documents, meta["snapshot_files"], strict=True):
            cases.append(
                (f"{folder.name}/{name}", (folder / "snapshots" / name).read_bytes(), document, filters)
            )

    def markdown(content: bytes, document: SourceDocument, filters: Any) -> str:
        try:
            return extract(content, "text/html", document, filters)
        except OtaError as error:
            return f"{type(error).__name__}: {error}"

    async def go() -> list[str]:
        chromium = shared_chromium.browser
        tabs = JsFilterTabs(chromium, size=4)
        slots = asyncio.Semaphore(4)

        async def differs(key: str, content: bytes, document: SourceDocument, filters: Any) -> str | None:
            async with slots:
                filtered = await tabs.apply(
                    content.decode("utf-8", errors="replace"),
                    url=document.location,
                    module_source="export function noop() {}",
                    module_name="noop.filters.js",
                    filters=(FilterRef("noop"),),
                    document=document,
                )
            same = markdown(filtered.encode("utf-8"), document, filters) == markdown(
                content, document, filters
            )
            return None if same else key

        try:
            results = await asyncio.gather(*(differs(*case) for case in cases))
        finally:
            await tabs.aclose()
        return [key for key in results if key is not None]

    assert len(cases) > 150
    assert shared_chromium.run(go()) == []


def test_a_page_filtered_again_is_reused_unless_its_filters_looked_at_another_context(
    shared_chromium: SharedChromium, tmp_path: Path
) -> None:
    """`ota verify` filters a snapshot again for each declaration it tries: the run is reused when
    only `select`/`remove` differ and the filters never looked at their context, as filtering again
    would give; a filter that reads its context runs again, and gets the new one."""
    module = tmp_path / "Example.filters.js"
    module.write_text(MODULE)
    files = FilterFiles(
        javascript=module, javascript_names=frozenset({"removeRedirectFromLinks", "recordContext"})
    )

    def document(select: str, filter_name: str) -> SourceDocument:
        return SourceDocument(URL, select=(select,), filters=(FilterRef(filter_name),))

    async def go() -> tuple[list[str], list[str], FilterRuns, list[bool]]:
        tabs = JsFilterTabs(shared_chromium.browser, size=2)
        runs = FilterRuns()
        prefilter = JavaScriptPrefilter(tabs, runs=runs)
        try:
            documents = [
                document(select, name)
                for name in ("removeRedirectFromLinks", "recordContext")
                for select in ("main", "body", "main")
            ]
            kept = []
            for each in documents:
                [(_, filtered, _)] = await prefilter([(each, PAGE.encode(), "text/html")], files)
                kept.append(filtered.decode().replace("&quot;", '"'))
            fresh = [
                (await apply_js_filters(shared_chromium.browser, PAGE, **_options(d))).replace("&quot;", '"')
                for d in documents
            ]
            looked = [(await tabs.run(PAGE, **_options(d))).read_context for d in documents[::3]]
            return kept, fresh, runs, looked
        finally:
            await tabs.aclose()

    kept, fresh, runs, looked = shared_chromium.run(go())
    assert kept == fresh
    assert looked == [False, True]
    assert (runs.runs, runs.reused) == (3, 3)  # removeRedirectFromLinks once; recordContext per select
    assert '"select":"body"' in kept[4] and '"select":"main"' in kept[5]


def _options(document: SourceDocument) -> dict[str, Any]:
    return {
        "url": document.location,
        "module_source": MODULE,
        "module_name": "Example.filters.js",
        "filters": document.filters,
        "document": document,
    }
