"""Which terms type a name means: `Cookie Policy` is a `Trackers Policy`, `Privacy Polcy` a typo.

Contributors name a terms type the way the page names itself. `terms-types.json` (beside this
module) holds what Open Terms Archive's terms-types dataset says each type is also called, and
what it covers (its topic); ota adds a few common names of its own (`otaAliases`). A name is
matched, in this order:

1. by meaning of its words: the same words as a type or one of its aliases, once case, plurals,
   `&`/`and` and small words are set aside (`Cookie Policy` = `Cookies Policy`, an alias of
   `Trackers Policy`);
2. by spelling: a typo of a type or an alias (`Privacy Polcy`);
3. by subject: the one type whose name, aliases or topic share the name's specific words
   (`Policy on cookies` → `cookie`, in the topic of `Trackers Policy`).

A name that matches nothing gets no suggestion rather than a misleading one (`difflib` alone
offers `Live Policy` for `Cookie Policy`).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Iterable
from functools import cache
from importlib.resources import files

#: How close each word of a typo must be to the word it misspells (difflib's ratio), and the whole
#: name when words are missing or run together: `Terms of Sale` is no typo of `Terms of Use`.
WORD_CUTOFF = 0.75
NAME_CUTOFF = 0.9
# Words that say what kind of document it is, not what about: they never decide a match by subject.
_GENERIC_WORDS = frozenset(
    "policy term guideline condition agreement notice statement standard rule document page general "
    "information info legal service user".split()
)
_SMALL_WORDS = frozenset("a an and at by for in of on or our the to with your".split())
_WORD = re.compile(r"[^\W_]+")


@cache
def _dataset() -> dict[str, dict[str, object]]:
    text = files(__package__).joinpath("terms-types.json").read_text(encoding="utf-8")
    data: dict[str, dict[str, object]] = json.loads(text)
    return data


def aliases() -> dict[str, str]:
    """Every other name of each standard terms type → the type (OTA's aliases, then ota's)."""
    data = _dataset()
    names: dict[str, str] = {}
    for terms_type, details in data["types"].items():
        assert isinstance(details, dict)
        for alias in details.get("aliases", []):
            names[alias] = terms_type
    for alias, other in data["otaAliases"].items():
        names[alias] = str(other)
    return names


def _topics() -> dict[str, str]:
    return {
        terms_type: str(details.get("topic", ""))
        for terms_type, details in _dataset()["types"].items()
        if isinstance(details, dict)
    }


def _stem(word: str) -> str:
    """A crude English singular: enough to equate `cookies`/`cookie`, `policies`/`policy`, `usage`/`use`."""
    if word == "usage":
        return "use"
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _words(text: str) -> frozenset[str]:
    """The words of `text` that carry meaning, stemmed."""
    text = text.casefold().replace("&", " and ")
    return frozenset(_stem(word) for word in _WORD.findall(text) if word not in _SMALL_WORDS)


def suggest_terms_type(name: str, allowed: Collection[str]) -> str | None:
    """The terms type among `allowed` that `name` most likely means, or None when none stands out."""
    if name in allowed:
        return name
    # Every name a type goes by, restricted to the types allowed here.
    known: list[tuple[str, str]] = [(terms_type, terms_type) for terms_type in allowed]
    known += [(alias, terms_type) for alias, terms_type in aliases().items() if terms_type in allowed]
    wanted = _words(name)
    same_words = {terms_type for other, terms_type in known if _words(other) == wanted}
    if len(same_words) == 1:
        return same_words.pop()
    misspelt = [(_ratio(name, other), terms_type) for other, terms_type in known if _misspells(name, other)]
    if misspelt:
        return max(misspelt)[1]
    return _by_subject(wanted - _GENERIC_WORDS, known)


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.casefold(), b.casefold()).ratio()


def _misspells(name: str, other: str) -> bool:
    """Whether `name` reads as a typo of `other`: each word close to the other's, or the whole."""
    words, others = _WORD.findall(name), _WORD.findall(other)
    if len(words) == len(others):
        return all(
            _ratio(word, word_of_other) >= WORD_CUTOFF
            for word, word_of_other in zip(words, others, strict=True)
        )
    return _ratio(name, other) >= NAME_CUTOFF


def _by_subject(specific: frozenset[str], known: Iterable[tuple[str, str]]) -> str | None:
    """The one type sharing most of the name's specific words, through its names or topic."""
    if not specific:
        return None
    topics = _topics()
    vocabulary: dict[str, set[str]] = {}
    for other, terms_type in known:
        vocabulary.setdefault(terms_type, set(_words(topics.get(terms_type, "")))).update(_words(other))
    scores = {terms_type: len(specific & words) for terms_type, words in vocabulary.items()}
    best = max(scores.values(), default=0)
    winners = [terms_type for terms_type, score in scores.items() if score == best]
    return winners[0] if best > 0 and len(winners) == 1 else None
