"""Collections on disk: declarations, history, filters.py, metadata.yml, and selecting terms."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ota.declarations import STANDARD_TERMS_TYPES
from ota.declarations.collection import (
    Collection,
    CollectionReader,
    javascript_filter_names,
    load_collection,
    load_history,
    python_filter_names,
)
from ota.declarations.service_filters import load_service_filters
from ota.errors import DeclarationError, SettingsError


def write(path: Path, content: Any) -> Path:
    """Write JSON (for dicts and lists) or text, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def service(name: str = "Service", **terms: Any) -> dict[str, Any]:
    """A declaration; terms by keyword with underscores for spaces, an Imprint by default."""
    declared = {key.replace("_", " "): value for key, value in terms.items()}
    return {"name": name, "terms": declared or {"Imprint": {"fetch": "https://x.org/", "select": "main"}}}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty collection: its root and a declarations folder."""
    (tmp_path / "declarations").mkdir()
    return tmp_path


def declarations(root: Path) -> Path:
    return root / "declarations"


# -- loading -------------------------------------------------------------------------------------


def test_services_are_loaded_in_alphabetical_order_with_ids_from_file_names(root: Path) -> None:
    """Service IDs keep spaces, capitals and punctuation, and sort as strings."""
    for service_id in ("service·A", "Service B!", "Open Terms Archive", "ABC"):
        write(declarations(root) / f"{service_id}.json", service(service_id.upper()))

    collection = load_collection(root)

    assert list(collection.services) == ["ABC", "Open Terms Archive", "Service B!", "service·A"]
    assert collection.services["Service B!"].name == "SERVICE B!"
    assert collection.errors == () and collection.warnings == ()


def test_a_reader_reads_each_declaration_when_its_terms_are_asked_for(root: Path) -> None:
    """`terms()` yields a service's terms before later files are read; `load()` reads the rest."""
    tos = {"fetch": "https://a.org/", "select": "p"}
    write(declarations(root) / "A.json", service("A", Terms_of_Service=tos))
    write(declarations(root) / "B.json", service("B"))
    write(declarations(root) / "C.json", service("C"))
    write(declarations(root) / "C.filters.py", "def clean(document, parameters, source): pass\n")
    reader = CollectionReader(root)
    terms = reader.terms()

    first = next(terms)
    assert (first.service_id, first.type) == ("A", "Terms of Service") and list(reader.services) == ["A"]
    write(declarations(root) / "B.json", "{broken")  # not read yet: the reader sees the new content
    assert [(t.service_id, t.type) for t in terms] == [("C", "Imprint")]
    assert reader.filter_files["C"].python == declarations(root) / "C.filters.py"
    assert reader.filter_files["C"].python_names == {"clean"}
    collection = reader.load()
    assert list(collection.services) == ["A", "C"]
    assert [error.path.name for error in collection.errors] == ["B.json"]


def test_a_broken_file_is_reported_and_the_others_load(root: Path) -> None:
    """Invalid JSON (with line and column) is skipped, not fatal; an invalid terms entry fails that
    terms only, and the rest of its service loads."""
    write(declarations(root) / "Good.json", service())
    write(declarations(root) / "Bad JSON.json", '{\n  "name": "x",\n  "terms": {,}\n}\n')
    page = {"fetch": "https://x.org/", "select": "main"}
    write(
        declarations(root) / "Invalid.json",
        {"name": "x", "terms": {"Imprint": {"fetch": "https://x.org/"}, "Privacy Policy": page}},
    )

    collection = load_collection(root)

    assert list(collection.services) == ["Good", "Invalid"]
    assert [str(error) for error in collection.errors] == [
        f"{declarations(root)}/Bad JSON.json: is not valid JSON: "
        "Expecting property name enclosed in double quotes at line 3, column 13",
    ]
    invalid = collection.services["Invalid"]
    assert list(invalid.terms) == ["Privacy Policy"]
    assert [str(error) for error in invalid.invalid["Imprint"]] == [
        f"{declarations(root)}/Invalid.json: terms › Imprint › select: "
        "is required (only a PDF, whose address ends in .pdf, may go without)",
    ]
    assert [(item.service_id, item.type, type(item).__name__) for item in collection.select(["Invalid"])] == [
        ("Invalid", "Imprint", "InvalidTerms"),
        ("Invalid", "Privacy Policy", "Terms"),
    ]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("[" * 100_000 + "]" * 100_000, "is not a declaration: its JSON is nested too deeply"),
        ('{"name": "x", "terms": ' + "[" * 900 + "]" * 900 + "}", "must be an object whose keys are terms"),
        ('{"name": "' + "x" * (2 * 1024 * 1024) + '"}', "is larger than 1024 KiB: not a declaration"),
    ],
)
def test_a_hostile_declaration_is_one_error_and_the_others_load(
    root: Path, content: str, reason: str
) -> None:
    """Deep nesting or a huge file is a DeclarationError for that file only, never a crash."""
    write(declarations(root) / "Good.json", service())
    write(declarations(root) / "Deep.json", content)

    collection = load_collection(root)

    assert list(collection.services) == ["Good"]
    (error,) = collection.errors
    assert error.path.name == "Deep.json" and error.reason.startswith(reason[:40]), error


def test_a_file_that_is_not_utf8_is_reported(root: Path) -> None:
    """Bytes that are not UTF-8 give a clear error, not a crash."""
    (declarations(root) / "Latin.json").write_bytes('{"name": "é"}'.encode("latin-1"))

    (error,) = load_collection(root).errors

    assert error.reason == "is not UTF-8 text"


def test_a_byte_order_mark_is_accepted(root: Path) -> None:
    """Files saved by editors that add a BOM still load."""
    (declarations(root) / "Bom.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(service()).encode())

    assert list(load_collection(root).services) == ["Bom"]


def test_a_missing_folder_raises(tmp_path: Path) -> None:
    """Without declarations there is nothing to track: that is an error, not an empty collection."""
    with pytest.raises(DeclarationError, match="no such folder"):
        load_collection(tmp_path / "nowhere")


def test_the_declarations_folder_itself_can_be_given(root: Path) -> None:
    """load_collection accepts the declarations folder and reads metadata.yml beside it."""
    write(declarations(root) / "A.json", service())
    write(root / "metadata.yml", "name: Demo\n")

    collection = load_collection(declarations(root))

    assert list(collection.services) == ["A"]
    assert collection.declarations_path == declarations(root)
    assert collection.metadata == {"name": "Demo"}


def test_legacy_documents_files_load_with_a_warning(root: Path) -> None:
    """A pre-5.0 declaration loads and its warning names the file."""
    write(declarations(root) / "Old.json", {"name": "Old", "documents": service()["terms"]})

    collection = load_collection(root)

    assert list(collection.services["Old"].terms) == ["Imprint"]
    assert collection.warnings == (
        f"{declarations(root)}/Old.json: 'documents' is deprecated since OTA 5.0; rename it to 'terms'",
    )


def test_a_collection_may_allow_extra_terms_types(root: Path) -> None:
    """terms_types replaces the allowed list, so collections can add their own types."""
    write(declarations(root) / "A.json", service(Cookie_Notice={"fetch": "https://x.org/", "select": "p"}))

    (error,) = load_collection(root).services["A"].invalid["Cookie Notice"]
    assert error.field == ("terms", "Cookie Notice")
    extended = load_collection(root, terms_types=STANDARD_TERMS_TYPES | {"Cookie Notice"})
    assert list(extended.services["A"].terms) == ["Cookie Notice"]


# -- metadata ------------------------------------------------------------------------------------


def test_metadata_is_read_as_a_dict(root: Path) -> None:
    """metadata.yml is parsed safely and kept as is."""
    write(root / "metadata.yml", "id: demo\nname: Demo\nlanguages: [en, fr]\njurisdictions:\n  - EU\n")

    assert load_collection(root).metadata == {
        "id": "demo",
        "name": "Demo",
        "languages": ["en", "fr"],
        "jurisdictions": ["EU"],
    }


def test_metadata_is_none_when_absent(root: Path) -> None:
    """A collection without metadata.yml loads."""
    assert load_collection(root).metadata is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("name: [unclosed\n", "is not valid YAML: "),
        ("- a\n- b\n", "must be a mapping of keys to values"),
    ],
)
def test_bad_metadata_is_an_error_and_services_still_load(root: Path, text: str, reason: str) -> None:
    """Unparsable or non-mapping metadata is reported; declarations are unaffected."""
    write(root / "metadata.yml", text)
    write(declarations(root) / "A.json", service())

    collection = load_collection(root)

    assert list(collection.services) == ["A"] and collection.metadata is None
    (error,) = collection.errors
    assert error.path == root / "metadata.yml" and error.reason.startswith(reason)


def test_invalid_yaml_says_where(root: Path) -> None:
    """The YAML error gives a line and column an author can find."""
    write(root / "metadata.yml", "name: Demo\nlanguages: [en\n")

    (error,) = load_collection(root).errors

    assert "at line 3, column 1" in error.reason


# -- history -------------------------------------------------------------------------------------


def test_history_files_are_read_only_when_asked_for(root: Path) -> None:
    """SERVICE_ID.history.json is noted when the collection is read and parsed by load_history."""
    write(declarations(root) / "A.json", service())
    history = {
        "Imprint": [{"fetch": "https://x.org/old", "select": "p", "validUntil": "2020-01-01T00:00:00Z"}]
    }
    write(declarations(root) / "A.history.json", history)

    collection = load_collection(root)

    assert list(collection.services) == ["A"]
    assert collection.services["A"].history == {}
    assert collection.services["A"].history_path == declarations(root) / "A.history.json"
    (earlier,) = load_history(collection.services["A"]).history["Imprint"]
    assert earlier.documents[0].location == "https://x.org/old"


def test_a_broken_history_does_not_stop_tracking(root: Path) -> None:
    """A history file is not checked when the collection is read: its errors come when it is used."""
    write(declarations(root) / "A.json", service())
    write(declarations(root) / "A.history.json", {"Imprint": {"fetch": "https://x.org/", "select": "p"}})

    collection = load_collection(root)

    assert collection.errors == () and list(collection.services) == ["A"]
    with pytest.raises(DeclarationError) as raised:
        load_history(collection.services["A"])
    assert str(raised.value) == (
        f"{declarations(root)}/A.history.json: Imprint: "
        "must be a list of earlier declarations, each with a validUntil date"
    )


def test_files_without_a_declaration_are_warned_about(root: Path) -> None:
    """A history or filters file whose declaration is missing probably belongs to a renamed service."""
    write(declarations(root) / "Gone.history.json", {})
    write(declarations(root) / "Gone.filters.py", "")
    write(declarations(root) / "Gone.filters.js", "")

    assert load_collection(root).warnings == (
        f"{declarations(root)}/Gone.history.json: there is no Gone.json beside it, so it is unused",
        f"{declarations(root)}/Gone.filters.js: there is no Gone.json beside it, so it is unused",
        f"{declarations(root)}/Gone.filters.py: there is no Gone.json beside it, so it is unused",
    )


# -- filters -------------------------------------------------------------------------------------

FILTERS = """
from re import sub  # imported: not a filter


def removeShareLinks(document, parameters, source_document):
    pass


def _helper():
    pass


CONSTANT = 3
"""


def test_a_filters_file_gives_its_public_functions(tmp_path: Path) -> None:
    """Functions defined in the file are filters; imported ones and _private ones are not."""
    path = write(tmp_path / "A.filters.py", FILTERS)

    filters = load_service_filters(path)

    assert list(filters) == ["removeShareLinks"]
    assert callable(filters["removeShareLinks"])


def test_loading_filters_writes_no_bytecode_beside_them(tmp_path: Path) -> None:
    """The declarations repository stays clean: no __pycache__ appears."""
    load_service_filters(write(tmp_path / "A.filters.py", FILTERS))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["A.filters.py"]


def test_filters_are_cached_until_the_file_changes(tmp_path: Path) -> None:
    """The same version is imported once; a modified file is imported again."""
    path = write(tmp_path / "A.filters.py", FILTERS)
    first = load_service_filters(path)

    assert load_service_filters(path)["removeShareLinks"] is first["removeShareLinks"]

    write(path, FILTERS + "\ndef addedLater(document, parameters, source_document):\n    pass\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    assert sorted(load_service_filters(path)) == ["addedLater", "removeShareLinks"]


def test_files_with_the_same_name_in_two_collections_do_not_mix(tmp_path: Path) -> None:
    """Each file is its own module, even when two collections have a service of the same ID."""
    one = write(tmp_path / "one" / "A.filters.py", "def one(d, p, s):\n    pass\n")
    two = write(tmp_path / "two" / "A.filters.py", "def two(d, p, s):\n    pass\n")

    assert (list(load_service_filters(one)), list(load_service_filters(two))) == (["one"], ["two"])


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("def broken(:\n", "could not be loaded: SyntaxError: "),
        ("raise RuntimeError('no network here')\n", "could not be loaded: RuntimeError: no network here"),
        ("import a_module_that_does_not_exist\n", "could not be loaded: ModuleNotFoundError: "),
    ],
)
def test_a_filters_file_that_fails_to_import_is_an_error_naming_it(
    tmp_path: Path, source: str, reason: str
) -> None:
    """Whatever the file raises becomes a DeclarationError with the file's path."""
    path = write(tmp_path / "A.filters.py", source)

    with pytest.raises(DeclarationError) as caught:
        load_service_filters(path)

    assert caught.value.path == path and caught.value.reason.startswith(reason)


def test_declarations_may_use_their_service_filters_and_builtin_ones(root: Path) -> None:
    """A filter defined in filters.py or built in is accepted, and filters_paths records the file."""
    imprint = {
        "fetch": "https://x.org/",
        "select": "p",
        "filter": ["removeShareLinks", {"removeQueryParams": ["a"]}],
    }
    write(declarations(root) / "A.json", service(Imprint=imprint))
    filters_path = write(declarations(root) / "A.filters.py", FILTERS)

    collection = load_collection(root)

    assert collection.errors == ()
    assert collection.filters_paths == {"A": filters_path}


def test_an_unknown_filter_is_an_error_listing_the_valid_ones(root: Path) -> None:
    """The message names the file, the field and every filter the declaration could use; the
    terms is invalid, the service's other terms load."""
    imprint = {"fetch": "https://x.org/", "select": "p", "filter": ["removeShareLink"]}
    write(
        declarations(root) / "A.json",
        service(Imprint=imprint, Privacy_Policy={"fetch": "https://x.org/p.pdf"}),
    )
    write(declarations(root) / "A.filters.py", FILTERS)
    write(declarations(root) / "B.json", service())

    collection = load_collection(root)

    assert list(collection.services) == ["A", "B"] and collection.errors == ()
    assert list(collection.services["A"].terms) == ["Privacy Policy"]
    assert [str(error) for error in collection.services["A"].invalid["Imprint"]] == [
        f"{declarations(root)}/A.json: terms › Imprint › filter: unknown filter 'removeShareLink'; "
        "valid filters are: convertSpacesToStandard, removeQueryParams, removeShareLinks "
        "(service filters are the functions of A.filters.js or A.filters.py)"
    ]


def test_builtin_filter_names_are_a_parameter(root: Path) -> None:
    """The extraction layer tells which filters are built in."""
    imprint = {"fetch": "https://x.org/", "select": "p", "filter": ["removeEmptyLinks"]}
    write(declarations(root) / "A.json", service(Imprint=imprint))

    (error,) = load_collection(root).services["A"].invalid["Imprint"]
    assert error.reason.startswith("unknown filter 'removeEmptyLinks'")
    assert load_collection(root, builtin_filters=frozenset({"removeEmptyLinks"})).services["A"].invalid == {}


def test_history_entries_are_checked_against_the_filters_too(root: Path) -> None:
    """Re-extracting old snapshots needs the filters the history names."""
    write(declarations(root) / "A.json", service())
    old = {"fetch": "https://x.org/", "select": "p", "filter": ["gone"], "validUntil": "2020-01-01T00:00:00Z"}
    write(declarations(root) / "A.history.json", {"Imprint": [old]})

    with pytest.raises(DeclarationError) as raised:
        load_history(load_collection(root).services["A"], known_filters={"removeQueryParams"})

    assert raised.value.path.name == "A.history.json"
    assert raised.value.field == ("Imprint", "item 1", "filter")


def test_reading_a_collection_never_runs_its_filters(root: Path, tmp_path: Path) -> None:
    """Filter names are found by parsing: a filters file whose code would run on import is not run."""
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').close()\n\ndef clean(document, parameters, source):\n    pass\n"
    write(declarations(root) / "A.filters.py", code)
    write(
        declarations(root) / "A.json",
        service(Imprint={"fetch": "https://x.org/", "select": "p", "filter": ["clean"]}),
    )

    collection = load_collection(root)

    assert collection.errors == () and collection.services["A"].invalid == {}
    assert not marker.exists()


def test_a_filters_file_that_does_not_parse_skips_its_service(root: Path) -> None:
    """Its filters cannot be known, so the service is reported, not half-loaded; the others load."""
    write(declarations(root) / "A.json", service())
    write(declarations(root) / "A.filters.py", "def broken(:\n")
    write(declarations(root) / "B.json", service())

    collection = load_collection(root)

    assert list(collection.services) == ["B"]
    (error,) = collection.errors
    assert str(error).startswith(f"{declarations(root)}/A.filters.py: is not valid Python at line 1: ")


def test_python_filter_names_are_its_public_top_level_functions(tmp_path: Path) -> None:
    """Functions and lambdas defined at the top level, not imported or private ones."""
    path = write(
        tmp_path / "A.filters.py",
        FILTERS + "\nasync def later(d, p, s):\n    pass\n\nshort = lambda d, p, s: None\n",
    )
    assert python_filter_names(path) == {"removeShareLinks", "later", "short"}


def test_javascript_filter_names_are_its_exports(tmp_path: Path) -> None:
    """`export function`, `export async function`, `export const` and `export {…}` name filters;
    helpers that are not exported do not."""
    source = """
export function removeRedirectFromLinks(document) {}
export async function slow(document) {}
export const replaceInfoImageWithEmoji = document => {};
function removeQueryParam(document, queryParam) {}
const a = 1, b = 2;
export { a, b as renamed };
"""
    path = write(tmp_path / "A.filters.js", source)
    assert javascript_filter_names(path) == {
        "removeRedirectFromLinks",
        "slow",
        "replaceInfoImageWithEmoji",
        "a",
        "renamed",
    }


def test_declarations_may_use_their_javascript_filters(root: Path) -> None:
    """A filter exported by SERVICE.filters.js is known; the same name in both files is an error."""
    imprint = {"fetch": "https://x.org/", "select": "p", "filter": ["fromJs"]}
    privacy = {"fetch": "https://x.org/p", "select": "p", "filter": ["twice"]}
    write(declarations(root) / "A.json", service(Imprint=imprint, Privacy_Policy=privacy))
    write(declarations(root) / "A.filters.js", "export function fromJs(d) {}\nexport function twice(d) {}\n")
    write(declarations(root) / "A.filters.py", "def twice(d, p, s):\n    pass\n")

    collection = load_collection(root)

    assert collection.filter_files["A"].javascript_names == {"fromJs", "twice"}
    assert list(collection.services["A"].terms) == ["Imprint"]
    (error,) = collection.services["A"].invalid["Privacy Policy"]
    assert "filter 'twice' is defined both in A.filters.py and in A.filters.js" in error.reason


# -- selecting terms -----------------------------------------------------------------------------


@pytest.fixture
def collection(root: Path) -> Collection:
    """Services A (Imprint, Privacy Policy) and B (Imprint), and a broken Broken."""
    page = {"fetch": "https://x.org/", "select": "p"}
    write(declarations(root) / "A.json", service(Privacy_Policy=page, Imprint=page))
    write(declarations(root) / "B.json", service(Imprint=page))
    write(declarations(root) / "Broken.json", "{")
    return load_collection(root)


def test_select_returns_every_terms_by_service_then_type(collection: Collection) -> None:
    """Without filters, all terms, services in alphabetical order and types sorted within each."""
    assert [(t.service_id, t.type) for t in collection.select()] == [
        ("A", "Imprint"),
        ("A", "Privacy Policy"),
        ("B", "Imprint"),
    ]


def test_select_filters_by_service_and_terms_type(collection: Collection) -> None:
    """Service IDs and terms types narrow the selection independently."""
    assert [(t.service_id, t.type) for t in collection.select(service_ids=["B", "A"])] == [
        ("A", "Imprint"),
        ("A", "Privacy Policy"),
        ("B", "Imprint"),
    ]
    assert [(t.service_id, t.type) for t in collection.select(terms_types=["Imprint"])] == [
        ("A", "Imprint"),
        ("B", "Imprint"),
    ]
    assert [(t.service_id, t.type) for t in collection.select(["A"], ["Privacy Policy"])] == [
        ("A", "Privacy Policy")
    ]


def test_select_reports_unknown_service_ids_with_a_suggestion(collection: Collection) -> None:
    """A typo in a service ID is an error, not an empty run."""
    with pytest.raises(
        SettingsError, match=r"unknown service 'a' \(did you mean 'A'\?\): there is no .*a\.json"
    ):
        collection.select(service_ids=["a"])


def test_select_leaves_out_a_service_whose_file_is_broken(collection: Collection) -> None:
    """A service whose file is broken is in the collection's errors (a failure of the run), not an
    unknown service."""
    assert collection.select(service_ids=["Broken"]) == []
    assert [error.path.name for error in collection.errors] == ["Broken.json"]


def test_a_reader_can_read_only_the_selected_services(root: Path) -> None:
    """With `services`, other files are not read (a broken one is not even seen); an unknown ID is
    a SettingsError with a suggestion."""
    page = {"fetch": "https://x.org/", "select": "p"}
    write(declarations(root) / "A.json", service(Imprint=page))
    write(declarations(root) / "Broken.json", "{")

    collection = load_collection(root, services=["A"])

    assert list(collection.services) == ["A"] and collection.errors == ()
    with pytest.raises(SettingsError, match=r"unknown service 'a' \(did you mean 'A'\?\)"):
        load_collection(root, services=["a"])


def test_select_reports_terms_types_no_chosen_service_declares(collection: Collection) -> None:
    """Asking B for its Privacy Policy, which it does not declare, says what it has."""
    with pytest.raises(
        SettingsError,
        match="no selected service declares the terms type 'Privacy Policy'; they declare: Imprint",
    ):
        collection.select(service_ids=["B"], terms_types=["Privacy Policy"])


def test_a_misspelt_valid_until_is_tolerated_with_a_warning(root: Path) -> None:
    """`ValidUntil`, which Open Terms Archive's engine runs with, is read as validUntil and named."""
    write(declarations(root) / "Le Chat.json", service())
    old = {"fetch": "https://x.org/old", "select": "p", "ValidUntil": "2024-01-01T00:00:00Z"}
    write(declarations(root) / "Le Chat.history.json", {"Imprint": [old]})

    service_ = load_history(load_collection(root).services["Le Chat"])

    (earlier,) = service_.history["Imprint"]
    assert earlier.valid_until is not None and earlier.valid_until.year == 2024
    assert service_.warnings == (
        f"{declarations(root)}/Le Chat.history.json: Imprint › item 1 › ValidUntil: read as 'validUntil'; "
        "correct its spelling",
    )


def test_file_names_that_cannot_be_service_ids_are_reported(root: Path) -> None:
    """A hidden `.json` file is mentioned, not silently ignored; a line break in a file name is an
    error for that file (it would split commit subjects); the others load."""
    write(declarations(root) / "...json", service())
    write(declarations(root) / ".hidden.json", service())
    write(declarations(root) / "Bad\nName.json", service())
    write(declarations(root) / "Good.json", service())

    collection = load_collection(root)

    assert list(collection.services) == ["Good"]
    assert [error.reason for error in collection.errors] == [
        "cannot be a service declaration: the service ID 'Bad\\nName' contains a line break or another "
        "control character"
    ]
    assert collection.warnings == (
        f"{declarations(root)}/...json: ignored: a service ID (the file name) cannot start with a dot",
        f"{declarations(root)}/.hidden.json: ignored: a service ID (the file name) cannot start with a dot",
    )
