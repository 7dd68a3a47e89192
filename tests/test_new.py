"""`ota new`: a declaration proposed for pages of three shapes served on 127.0.0.1, checked by
extracting it as tracking would, written only with --write and never over an existing file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner

from ota.cli import app
from ota.contrib.selectors import is_generated
from ota.declarations import declaration_errors
from tests.conftest import needs_chromium
from tests.pdfs import make_pdf

CLAUSES = "".join(
    f"<p>Clause {n}. By using the service you accept these terms, which we may update with notice.</p>"
    for n in range(6)
)
# A `main` element, with site navigation and a footer around it.
MAIN_PAGE = f"""<!DOCTYPE html><html><head><title>Terms of Service | Example</title></head><body>
<header><nav><a href="/">Home</a> <a href="/blog">Blog</a> <a href="/jobs">Jobs</a></nav></header>
<main><h1>Terms of Service</h1>{CLAUSES}</main>
<footer><p>© Example. All rights reserved. Contact us about anything at any time.</p></footer>
</body></html>"""
# An `article` inside wrappers whose classes a CSS-in-JS library generated.
GENERATED_PAGE = f"""<!DOCTYPE html><html><head><title>Privacy Policy - Example</title>
<meta property="og:site_name" content="Example"></head><body>
<div class="css-1x2y3z"><div class="sc-abc123 kJzQdP"><article class="css-9f8e7d">
<h1>Privacy Policy</h1>{CLAUSES}</article></div>
<div class="css-4r5t6y"><p>Related: <a href="/a">Careers</a> <a href="/b">Press</a></p></div></div>
</body></html>"""
# A cookie banner, and navigation inside the content block, which has no semantic element.
BANNER_PAGE = f"""<!DOCTYPE html><html><head><title>Cookie Policy · Example</title></head><body>
<div id="cookie-banner"><p>We use cookies to improve your experience. Accept all cookies or manage
your preferences in the settings at any time.</p><button>Accept</button></div>
<div class="layout"><div class="legal-content">
<nav class="breadcrumb"><a href="/">Home</a> › <a href="/legal">Legal</a></nav>
<h1>Cookie Policy</h1>{CLAUSES}
<div class="cookie-consent-box"><p>We use cookies. Change your cookie consent preferences here, whenever you
want to, from any page.</p></div>
</div><aside><p>Other policies</p></aside></div>
</body></html>"""


@pytest.fixture
def site(httpserver: HTTPServer) -> HTTPServer:
    for path, page in (("/terms", MAIN_PAGE), ("/privacy", GENERATED_PAGE), ("/cookies", BANNER_PAGE)):
        httpserver.expect_request(path).respond_with_data(page, content_type="text/html; charset=utf-8")
    return httpserver


def new(root: Path, *args: str) -> tuple[int, str, str]:
    (root / "ota.toml").touch()
    result = CliRunner().invoke(app, ["new", "--config", str(root / "ota.toml"), *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    ("path", "terms_type", "select", "remove"),
    [
        ("/terms", "Terms of Service", "main", None),
        ("/privacy", "Privacy Policy", "article", None),
        ("/cookies", "Trackers Policy", "div.legal-content", [".breadcrumb", ".cookie-consent-box"]),
    ],
)
def test_new_proposes_a_durable_selector_whose_extraction_holds_the_terms(
    site: HTTPServer, tmp_path: Path, path: str, terms_type: str, select: str, remove: list[str] | None
) -> None:
    """The proposal selects the terms by what they are, removes banners and navigation inside them,
    and the Markdown it previews is the terms, without the banner or the menus."""
    url = site.url_for(path)
    code, stdout, stderr = new(tmp_path, url)
    assert code == 0, stderr
    proposal = json.loads(stdout)
    entry = {"fetch": url, "select": select} | ({"remove": remove} if remove else {})
    assert proposal == {"name": "Example", "terms": {terms_type: entry}}
    assert declaration_errors("Example", proposal, path="Example.json") == []
    assert stdout.endswith("}\n") and stdout.startswith('{\n  "name": "Example",')
    assert "Clause 0. By using the service you accept these terms" in stderr
    assert "Clause 5." in stderr
    for outside in ("We use cookies", "Home", "Blog", "All rights reserved", "Related", "Other policies"):
        assert outside not in stderr
    assert not any(is_generated(name) for name in select.replace(".", " ").split())


def test_the_preview_is_what_ota_extract_gives_for_the_written_declaration(
    site: HTTPServer, tmp_path: Path
) -> None:
    """--write writes the proposal; `ota extract` of that file on the same URL prints the previewed text."""
    url = site.url_for("/cookies")
    code, stdout, stderr = new(tmp_path, url, "--service", "Example Cookies", "--write")
    assert code == 0, stderr
    written = tmp_path / "declarations" / "Example Cookies.json"
    assert written.read_text("utf-8") == stdout
    result = CliRunner().invoke(
        app, ["extract", str(written), "Trackers Policy", "--config", str(tmp_path / "ota.toml")]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout + "\n" in stderr  # the preview is the Markdown, as extraction gives it


def test_write_never_overwrites_an_existing_declaration(site: HTTPServer, tmp_path: Path) -> None:
    """An existing declaration is left as it is: exit 1, and a line saying so."""
    existing = tmp_path / "declarations" / "Example.json"
    existing.parent.mkdir()
    existing.write_text('{"name": "Example", "terms": {}}\n', "utf-8")
    code, stdout, stderr = new(tmp_path, site.url_for("/terms"), "--write")
    assert code == 1
    assert f"{existing}: exists, not overwritten" in stderr
    assert existing.read_text("utf-8") == '{"name": "Example", "terms": {}}\n'
    assert json.loads(stdout)["terms"]["Terms of Service"]["select"] == "main"  # still proposed


def test_type_and_service_options_name_the_declaration(site: HTTPServer, tmp_path: Path) -> None:
    """--type and --service override what the page suggests; a wrong --type is refused with a hint."""
    url = site.url_for("/terms")
    code, stdout, _ = new(tmp_path, url, "--type", "Acceptable Use Policy", "--service", "Acme")
    assert code == 0
    assert json.loads(stdout)["terms"] == {"Acceptable Use Policy": {"fetch": url, "select": "main"}}
    code, _, stderr = new(tmp_path, url, "--type", "Cookie Policy")
    assert code == 2 and "unknown terms type 'Cookie Policy' (did you mean 'Trackers Policy'?)" in stderr


def test_a_page_that_cannot_be_fetched_or_a_bad_address_fails_in_one_line(
    site: HTTPServer, tmp_path: Path
) -> None:
    """A 404 exits 1 with OTA's words; something that is not a web address exits 2."""
    site.expect_request("/missing").respond_with_data("Not found", status=404)
    code, _, stderr = new(tmp_path, site.url_for("/missing"))
    assert code == 1 and "Received HTTP code 404 when trying to fetch" in stderr
    code, _, stderr = new(tmp_path, "example.com/terms")
    assert code == 2 and "is not a web address" in stderr
    for broken in ("http://[::1", "https://exa mple.com/", "http://"):
        code, _, stderr = new(tmp_path, broken)
        assert (code, stderr.strip()) == (
            2,
            f"ota: '{broken}' is not a web address: it cannot be parsed as a URL",
        )


# A privacy policy with a section about cookies (its heading's id says "cookie-banner"), and a real
# cookie banner inside the content.
COOKIE_SECTIONS = f"""<!DOCTYPE html><html><head><title>Privacy Policy | Example</title></head><body>
<main><h1>Privacy Policy</h1>{CLAUSES}
<section id="cookies"><h2 id="why-no-cookie-banner">Why there is no cookie banner</h2>
<p>We set only the cookies the service needs to work, so no consent is asked of you for them.</p></section>
<div class="cookie-notice"><p>This site uses cookies.</p><button>OK</button></div>
</main></body></html>"""
# Terms written as one long list of sections, each a list of clauses: readability takes the list
# of the longest section for the content.
SUB_CLAUSE = (
    "<li><p>Sub-clause {}.{}: the provider may suspend accounts that break the rules, "
    "and tell them why.</p></li>"
)
LONG_CLAUSE = (
    "<li><p>" + "An extra long sub-clause about liability, its limits, and what they mean for you. " * 6
)
NESTED_CLAUSES = "".join(
    f"<li><h3>Section {n}</h3><ol>"
    + "".join(SUB_CLAUSE.format(n, m) for m in range(3))
    + (LONG_CLAUSE + "</p></li>") * (4 if n == 7 else 0)
    + "</ol></li>"
    for n in range(10)
)
NESTED_PAGE = f"""<!DOCTYPE html><html><head><title>Terms of Service</title></head><body>
<header><a href="/">Home</a></header><div class="legal"><h1>Terms of Service</h1>
<p>These terms apply to everyone who uses the service, from the day they sign up.</p>
<ol>{NESTED_CLAUSES}</ol></div><footer>© Example</footer></body></html>"""


def test_a_section_about_cookies_is_terms_and_only_the_banner_is_removed(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """Ids that mention cookies on headings and sections are terms; a cookie notice box is not."""
    httpserver.expect_request("/privacy").respond_with_data(COOKIE_SECTIONS, content_type="text/html")
    code, stdout, stderr = new(tmp_path, httpserver.url_for("/privacy"), "--service", "Example")
    assert code == 0, stderr
    entry = json.loads(stdout)["terms"]["Privacy Policy"]
    assert (entry["select"], entry["remove"]) == ("main", ".cookie-notice")
    assert "Why there is no cookie banner" in stderr and "no consent is asked" in stderr
    assert "This site uses cookies." not in stderr


def test_terms_written_as_nested_lists_are_selected_whole(httpserver: HTTPServer, tmp_path: Path) -> None:
    """When readability takes one section's list, the proposal still selects the whole terms."""
    httpserver.expect_request("/terms").respond_with_data(NESTED_PAGE, content_type="text/html")
    code, stdout, stderr = new(tmp_path, httpserver.url_for("/terms"), "--service", "Example")
    assert code == 0, stderr
    assert json.loads(stdout)["terms"]["Terms of Service"]["select"] == "div.legal"
    for text in (
        "These terms apply to everyone",
        "Sub-clause 0.0",
        "Sub-clause 9.2",
        "An extra long sub-clause",
    ):
        assert text in stderr
    assert "Home" not in stderr and "© Example" not in stderr


@pytest.mark.parametrize(
    ("name", "generated"),
    [
        ("css-1x2y3z", True),
        ("sc-abc123", True),
        ("kJzQdP", True),
        ("jsx-2045", True),
        ("styles_content__a1B2c", True),
        ("x1n2onr6", True),
        ("terms-content", False),
        ("legal", False),
        ("col-md-6", False),
        ("MuiContainer-root", False),
        ("TableOfContents_nav__EfJPB", True),  # CSS modules: a hash after the names
        ("Content--ldJRupka", True),
        ("framer-pzJyc", True),
        ("xwnkcuf", True),  # atomic CSS
        ("mount_0_0_Oo", True),  # React root of Meta's pages, new at each load
        ("TableOfContents", False),
        ("FAQ", False),
    ],
)
def test_generated_class_names_are_told_from_written_ones(name: str, generated: bool) -> None:
    """Class names a build tool made change at the next build: they are not proposed."""
    assert is_generated(name) is generated


SCRIPTED = """<!DOCTYPE html><html><head><title>Terms of Service</title></head><body><main id="terms"></main>
<script>const clause = n => "<p>Scripted clause " + n + ": you accept these terms by using the app.</p>";
document.getElementById("terms").innerHTML = "<h1>Terms</h1>" + [0, 1, 2, 3, 4].map(clause).join("");
</script></body></html>"""


@pytest.mark.browser
@needs_chromium
def test_browser_option_renders_the_page_and_declares_client_scripts(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    """--browser reads the text scripts write, and the proposal says executeClientScripts."""
    httpserver.expect_request("/app-terms").respond_with_data(SCRIPTED, content_type="text/html")
    url = httpserver.url_for("/app-terms")
    code, stdout, stderr = new(tmp_path, url, "--browser", "--service", "App")
    assert code == 0, stderr
    entry = json.loads(stdout)["terms"]["Terms of Service"]
    assert entry == {"fetch": url, "select": "#terms", "executeClientScripts": True}
    assert "Scripted clause 4: you accept these terms" in stderr


@pytest.mark.browser
@needs_chromium
def test_new_previews_a_pdf_as_tracking_records_it(httpserver: HTTPServer, tmp_path: Path) -> None:
    """A PDF needs only its address, and the Markdown previewed is the engine's (pdf.js's text)."""
    pdf = make_pdf("Privacy Policy", "We collect what you give us & keep it.")
    httpserver.expect_request("/privacy.pdf").respond_with_data(pdf, content_type="application/pdf")
    url = httpserver.url_for("/privacy.pdf")
    code, stdout, stderr = new(tmp_path, url, "--type", "Privacy Policy")
    assert code == 0, stderr
    assert json.loads(stdout)["terms"]["Privacy Policy"] == {"fetch": url}
    assert stderr.endswith("Privacy Policy\n\nWe collect what you give us \\& keep it.\n")


@pytest.mark.parametrize("service_id", ["../../etc/x", "a/b", ".hidden", "../x"])
def test_a_service_id_is_a_file_name_never_a_path(site: HTTPServer, tmp_path: Path, service_id: str) -> None:
    """--service with a slash (or a leading dot) is refused in one line, exit 2, before anything is
    fetched or written: `../../etc/x` from `work/declarations` would be `tmp_path/etc/x.json`."""
    work = tmp_path / "work"
    work.mkdir()
    code, stdout, stderr = new(work, site.url_for("/terms"), "--service", service_id, "--write")
    assert code == 2, stderr
    assert stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ota: --service: the service ID {service_id!r} ")
    assert sorted(tmp_path.rglob("*")) == [work, work / "ota.toml"]  # nothing written anywhere
