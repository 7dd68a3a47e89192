"""ota.significance: each rule on real-looking pairs, the labelled set of real changes, `ota compare`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ota.cli import app
from ota.significance import RULESET, classify, reader_tokens

CASES = Path(__file__).resolve().parent / "significance"
#: Labelled cases the rules class otherwise, each more significant than its label (never less).
KNOWN_DISAGREEMENTS = {
    # "within one two (2) years" → "within two (2) years" and "federal the U.S." → "federal U.S.":
    # stray words a reader takes for typos, but a dropped word may change a meaning.
    "grok-terms-stray-words": "substantive",
    # "(i) …; and (ii) …; and" → "(i) …; (ii) …; and": a conjunction dropped from a list.
    "llama-terms-list-conjunction": "substantive",
}

TERMS = """Privacy Policy
==============

Effective: October 24, 2025

We collect the information you give us when you create an account, such as your name and e-mail
address. You can manage it in your [Privacy Settings](https://example.com/settings/privacy).

1.  **Data we keep.** We keep your data for 30 days after you close your account.
2.  **Your rights.** You may ask us to delete your data at any time.

Contact our Data Protection Officer at [dpo@example.com](mailto:dpo@example.com).
"""


def rules(old: str, new: str) -> set[str]:
    return {reason.rule for reason in classify(old, new).reasons}


# -- cosmetic -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("new", "rule"),
    [
        # A tracking token in a link's target (Claude.ai's redirects change at every fetch).
        (TERMS.replace("settings/privacy)", "settings/privacy?utm_source=x&did=8ac58dd5)"), "link-target"),
        (
            TERMS.replace("https://example.com/settings", "https://example.com/redirect/v1.3f76/settings"),
            "link-target",
        ),
        (TERMS.replace("We collect", "We\u00a0collect\u200b"), "unicode"),
        (TERMS.replace("give us", "give\u2060 us"), "unicode"),
        (TERMS.replace("e-mail", "e\u2011mail"), "quotes-dashes"),
        (TERMS.replace("**Data we keep.**", "__Data we keep.__"), "markup"),
        (TERMS.replace("Privacy Policy\n==============", "# Privacy Policy"), "markup"),
        (TERMS.replace("you give us when", "you give us\n\nwhen"), "layout"),
        (TERMS.replace("Effective: October 24, 2025", "Effective: 24 October 2025"), "date-format"),
        (TERMS.replace("We collect", "WE COLLECT"), "case"),
    ],
)
def test_what_a_reader_does_not_see_is_cosmetic(new: str, rule: str) -> None:
    """Markup, link targets, Unicode forms, spaces, quotes, dashes, date formats and case are cosmetic."""
    result = classify(TERMS, new)
    assert result.significance == "cosmetic", result
    assert rule in {reason.rule for reason in result.reasons}
    assert not result.minor and result.words_changed == 0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Updated: 5 days ago", "Updated: 6 days ago"),
        ("Mis à jour il y a 3 jours", "Mis à jour il y a 4 jours"),
        ("Aktualisiert vor 2 Tagen", "Aktualisiert vor 3 Tagen"),
        ("Actualizado hace 1 día", "Actualizado hace 2 días"),
        ("Updated: yesterday", "Updated: 3 hours ago"),
    ],
)
def test_a_relative_date_that_moves_is_cosmetic(old: str, new: str) -> None:
    """'Updated: 5 days ago' → '6 days ago' (ChatGPT's usage policies, at every fetch)."""
    result = classify(TERMS + "\n" + old + "\n", TERMS + "\n" + new + "\n")
    assert result.significance == "cosmetic"
    assert {reason.rule for reason in result.reasons} == {"relative-date"}


def test_an_obfuscated_email_is_cosmetic_but_a_changed_address_is_not() -> None:
    """Cloudflare's '[email protected]' for an address is cosmetic; another address is substantive."""
    marked = TERMS.replace(
        "[dpo@example.com](mailto:dpo@example.com)",
        "[\\[email protected\\]](/cdn-cgi/l/email-protection#a1c5d1ce)",
    )
    result = classify(TERMS, marked)
    assert result.significance == "cosmetic" and "email-marker" in {r.rule for r in result.reasons}
    assert classify(marked, TERMS).significance == "cosmetic"
    other = TERMS.replace("dpo@example.com", "privacy@example.org")
    result = classify(TERMS, other)
    assert result.significance == "substantive" and result.reasons[0].rule == "contact"


def test_an_address_shown_as_text_keeps_its_words_without_its_query() -> None:
    """A tracking token in an address a reader sees is cosmetic; another path is not."""
    old = TERMS + "\nSee https://example.com/help?ref=nav&sid=1a2b for help.\n"
    assert classify(old, old.replace("sid=1a2b", "sid=9z8y")).significance == "cosmetic"
    assert classify(old, old.replace("/help?", "/support?")).significance == "substantive"


def test_reader_tokens_drop_link_targets_and_markup() -> None:
    assert reader_tokens('**See** our [Terms](https://x.example/t?utm=1 "t").') == [
        "see",
        "our",
        "terms",
        ".",
    ]
    assert reader_tokens("| a | b |\n| --- | --- |") == ["a", "b"]
    assert reader_tokens("Effective 12 January 2026") == ["effective", "date:2026-01-12"]


# -- editorial ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("Last updated: October 2025", "Last updated: November 2025", "date"),
        ("Updated: June 4, 2025", "Updated: January 8, 2026", "date"),
        ("We collect the informations you give us.", "We collect the information you give us.", "typo"),
        ("Data centre infrastructure", "Data center infrastructure", "typo"),
        ("Data center infrastructure", "Data centre infrastructure", "typo"),
        ("Attempts at jail breaking Copilot", "Attempts at jailbreaking Copilot", "typo"),
        ("We use third-party cookies", "We use third party cookies", "typo"),
        ("data we use train out models", "data we use to train our models", "typo"),
        ("We keep it; we share it", "We keep it, we share it.", "punctuation"),
        ("1.  **Definitions.** Words", "**2\\. Definitions.** Words", "numbering"),
        ("as section 12 says", "as section 13 says", "numbering"),
    ],
)
def test_editorial_changes(old: str, new: str, rule: str) -> None:
    """Absolute dates, typos, punctuation and numbering are editorial."""
    result = classify(TERMS + "\n" + old + "\n", TERMS + "\n" + new + "\n")
    assert result.significance == "editorial", result
    assert rule in {reason.rule for reason in result.reasons}


def test_reordered_paragraphs_are_editorial() -> None:
    """Two paragraphs swapped, unchanged, are editorial ('reordered')."""
    first, second = "We keep your data for 30 days.", "You may ask us to delete it."
    result = classify(f"Intro.\n\n{first}\n\n{second}\n\nEnd.", f"Intro.\n\n{second}\n\n{first}\n\nEnd.")
    assert result.significance == "editorial"
    assert [r.rule for r in result.reasons] == ["reordered"]


# -- substantive ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("for 30 days after you close", "for 90 days after you close", "number"),
        ("You must be 13 or older.", "You must be 16 or older.", "number"),
        ("A fee of $10 per month.", "A fee of $12 per month.", "number"),
        ("within 14 days", "within 30 days", "number"),
        ("Effective: October 24, 2025", "Effective: January 1, 2026", "effective-date"),
        (
            "These terms take effect on 1 March 2026.",
            "These terms take effect on 1 April 2026.",
            "effective-date",
        ),
        ("We do share your data.", "We do not share your data.", "negation"),
        ("You can opt out.", "You cannot opt out.", "negation"),
        ("This is lawful.", "This is unlawful.", "words"),
        (
            "an agreement between you and OpenAI, L.L.C.",
            "an agreement between you and OpenAI OpCo, LLC",
            "words",
        ),
        ("Contact aup-exceptions@meta.com", "Contact aup_exceptions@meta.com", "contact"),
        ("ChatGPT Team, and other services", "ChatGPT Business, and other services", "words"),
        ("We may include it", "We may exclude it", "words"),
    ],
)
def test_substantive_changes(old: str, new: str, rule: str) -> None:
    """Numbers, effective dates, negations, entities, contacts and other words are substantive."""
    result = classify(TERMS + "\n" + old + "\n", TERMS + "\n" + new + "\n")
    assert result.significance == "substantive", result
    assert rule in {reason.rule for reason in result.reasons}
    assert result.minor and result.words_changed >= 1 and result.blocks == 1


def test_a_large_change_is_not_minor_and_has_a_size() -> None:
    """A new section: its words, its share of the document, the blocks it touches."""
    section = "\n\n".join(f"Clause {n}. We may process your data for purpose number {n}." for n in range(10))
    result = classify(TERMS, TERMS + "\n" + section + "\n")
    assert result.significance == "substantive" and not result.minor
    assert result.words_changed == 10 * 11 and result.blocks == 10
    assert 0.3 < result.share <= 1.0


def test_a_page_that_becomes_an_error_page_is_substantive() -> None:
    """Llama API's 'This page isn't available' replacing its terms is substantive, not minor."""
    error = "This page isn’t available\n-------------------------\n\nAn unexpected error has occurred.\n"
    assert classify(TERMS, error).significance == "substantive"
    assert classify(error, TERMS).significance == "substantive"


def test_recurrent_names_the_earlier_equal_version() -> None:
    """A text equal to an earlier version is recurrent, naming the last such version."""
    a, b = TERMS, TERMS.replace("30 days", "60 days")
    result = classify(b, a, earlier=[("v1", a), ("v2", b), ("v3", a), ("v4", b)])
    assert result.recurrent and result.recurrent_of == "v3"
    assert not classify(a, b, earlier=[("v1", a)]).recurrent


def test_equal_texts_and_whitespace_only_changes() -> None:
    assert classify(TERMS, TERMS).reasons == ()
    result = classify(TERMS, TERMS.replace("\n\n", "\n\n\n"))
    assert result.significance == "cosmetic" and [r.rule for r in result.reasons] == ["layout"]


def test_the_result_names_its_ruleset() -> None:
    body = classify(TERMS, TERMS.replace("30", "31")).to_dict()
    assert body["ruleset"] == RULESET == "significance/1"
    assert body["significance"] == "substantive" and body["minor"] is True
    assert body["reasons"][0]["examples"] == [{"old": "30", "new": "31"}]


# -- the labelled set -----------------------------------------------------------------------------


def test_the_labelled_set_of_real_changes() -> None:
    """Every labelled change of genai-eu's history is classed as labelled (but the known cases)."""
    confusion: Counter[tuple[str, str]] = Counter()
    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        label = (case / "label").read_text().strip()
        got = classify((case / "old.md").read_text(), (case / "new.md").read_text()).significance
        confusion[(label, got)] += 1
        assert got == KNOWN_DISAGREEMENTS.get(case.name, label), case.name
    total = sum(confusion.values())
    assert total >= 60
    assert confusion[("substantive", "cosmetic")] == 0
    cosmetic = sum(n for (label, _), n in confusion.items() if label == "cosmetic")
    assert confusion[("cosmetic", "cosmetic")] / cosmetic >= 0.8
    assert sum(n for (label, got), n in confusion.items() if label == got) / total >= 0.8


# -- ota compare ----------------------------------------------------------------------------------


def test_ota_compare_prints_the_diff_and_the_class(tmp_path: Path) -> None:
    """`ota compare OLD NEW` shows the changed words and the class; `--json` the fields analysts use."""
    case = CASES / "grok-privacy-dpo-contact"
    result = CliRunner().invoke(app, ["compare", str(case / "old.md"), str(case / "new.md")])
    assert result.exit_code == 0, result.output
    assert "[-: Taceo Limited" in result.output and "{+ at (mailto:" in result.output
    assert "substantive" in result.output and "contact" in result.output
    case = CASES / "claude-privacy-redirect-token"
    result = CliRunner().invoke(app, ["compare", str(case / "old.md"), str(case / "new.md"), "--json"])
    assert result.exit_code == 0
    body = json.loads(result.output)
    assert body["significance"] == "cosmetic" and body["minor"] is False
    assert body["reasons"][0]["rule"] == "link-target"
    assert body["words_added"] == 1 and body["words_removed"] == 1


def test_ota_compare_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    (tmp_path / "latin1.md").write_bytes(b"caf\xe9")
    (tmp_path / "ok.md").write_text("ok")
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "missing.md"), str(tmp_path / "ok.md")])
    assert result.exit_code == 2 and "missing.md: cannot be read" in result.output
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "ok.md"), str(tmp_path / "latin1.md")])
    assert result.exit_code == 2 and "latin1.md: is not UTF-8 text" in result.output


def test_ota_compare_says_one_word_and_one_block_in_the_singular(tmp_path: Path) -> None:
    """A changed age in one paragraph: '+1 word, -1 word', '2 words in 1 block' (added and removed),
    never '1 words' or '1 blocks'."""
    (tmp_path / "old.md").write_text("# Terms\n\nYou must be 16 years old.\n", "utf-8")
    (tmp_path / "new.md").write_text("# Terms\n\nYou must be 18 years old.\n", "utf-8")
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "old.md"), str(tmp_path / "new.md")])
    assert result.exit_code == 0, result.output
    assert "+1 word, -1 word\n" in result.output, result.output
    assert "substantive (minor): 2 words in 1 block (" in result.output, result.output
