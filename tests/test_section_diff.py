"""What a change changed, for people: the section summary and the excerpt notifications and feeds
quote (`ota.diff.sections.account`)."""

from __future__ import annotations

from ota.diff.sections import Account, account, account_of, align
from ota.diff.units import units

OLD = """# Terms

## 4. Data

We may share your data with partners for advertising.

## 5. Using the Services

You must be 13. See [help](https://a.example/help).
"""
NEW = """# Terms

## 4. Data

We will never sell your information to partners for advertising.

## 4A. Training

We train machine learning models on your posts.

## 5. Using the Services

You must be 16. See [help](https://b.example/help).
"""


def test_an_account_says_each_section_changed_and_quotes_the_words() -> None:
    """Sections by their numbers, links counted, removed and added words marked in context."""
    told = account(OLD, NEW)
    assert told.summary == "§4 reworded; §4A added; §5 reworded; 1 link changed"
    assert told.excerpt_text == (
        "We [-may share your data with-]{+will never sell your information to+} partners for advertising. "
        "… {+4A. Training+} … {+We train machine learning models on your posts.+} … "
        "You must be [-13-]{+16+}. See help."
    )
    assert Account.from_json(told.to_json()) == told
    assert Account.from_json("not JSON") is None


def test_only_the_changed_sections_are_parsed_with_the_same_account() -> None:
    """Long texts that differ in one section: the account of the changed sections alone is the
    account of the whole documents."""
    filler = "\n\n".join(f"## {n}. Part\n\nSome words of part {n} that stay the same." for n in range(6, 60))
    old, new = OLD + "\n" + filler, NEW + "\n" + filler
    assert account(old, new) == account_of(align(units(old), units(new)))


def test_a_space_that_became_a_no_break_space_is_no_word_changed() -> None:
    """The excerpt leaves out changes of spaces alone (common in real pages) and keeps the words."""
    old = "## 1. Scope\n\nWe operate uptimerobot.com and uptimerobot.com/api/ for you."
    new = old.replace("com and", "com\u00a0and").replace("13", "16") + " Or not."
    told = account(old, new)
    assert told.excerpt_text == "and uptimerobot.com/api/ for you.{+ Or not.+}"  # no [- -]{+ +}


def test_a_section_whose_spaces_alone_changed_says_so() -> None:
    """A section where only spaces changed (a no-break space, a doubled space) is "spacing only",
    not "reworded", so a reader knows there is nothing to read there; a real word change in
    another section is still "reworded"."""
    old = "## 1. Scope\n\nWe operate the site and its API.\n\n## 2. Age\n\nYou must be 13."
    new = old.replace("the site", "the\u00a0site").replace("its API", "its  API").replace("13", "16")
    told = account(old, new)
    assert told.summary == "§1 spacing only; §2 reworded"
    assert told.excerpt_text == "You must be [-13-]{+16+}."
