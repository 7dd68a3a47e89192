"""ota.extract.suspicion: block pages and large losses told from ordinary changes."""

from __future__ import annotations

import pytest

from ota.extract.suspicion import block_page, suspicion

TERMS = "Terms of Service\n================\n\n" + "\n\n".join(f"Clause {n}: be kind." for n in range(400))


@pytest.mark.parametrize(
    "text",
    [
        "Access denied\n=============\n\nYou don't have permission to access this page.",
        "Please complete the security check to access example.com",
        "Verifying you are human. This may take a few seconds.",
        "Checking your browser before accessing example.com. Just a moment...",
        "Our systems have detected unusual traffic from your computer network.",
        "Pardon Our Interruption\n\nSomething about your browser made us think you were a bot.",
        "Accès refusé",
        "Access\u00a0denied",  # the forms a page's markup gives, &nbsp;, &shy;, &#8203;…
        "Acc\u00adess denied",
        "Access\u200bdenied",
        "ACCESS\u2009\u200dDENIED",
        "Ａｃｃｅｓｓ ｄｅｎｉｅｄ",
        "verify\u202fyou\u00a0are \ufeffhuman",
    ],
)
def test_block_and_challenge_pages_are_recognised(text: str) -> None:
    """The phrases of access-denied, captcha and bot-check pages, in short texts."""
    assert block_page(text) is not None
    assert suspicion(text, None) is not None  # a first record too


def test_long_terms_that_mention_a_captcha_are_ordinary() -> None:
    """Real terms mention reCAPTCHA and 'access denied' in passing: long texts are never block pages."""
    text = TERMS + "\n\nWe use reCAPTCHA; access denied to bots."
    assert block_page(text) is None and suspicion(text, len(TERMS)) is None


def test_a_large_loss_is_suspect_and_a_small_one_is_not() -> None:
    """Losing more than half of a text of 1,000 characters or more is suspect; less is a change."""
    assert suspicion(TERMS[: len(TERMS) // 3], len(TERMS)) is not None
    assert "loses 67% of the text" in (suspicion(TERMS[: len(TERMS) // 3], len(TERMS)) or "")
    assert suspicion(TERMS[: len(TERMS) * 2 // 3], len(TERMS)) is None
    assert suspicion("Short.", 500) is None  # a short version losing text is an ordinary change


def test_the_orchestrator_holds_back_block_pages_always_and_large_losses_until_confirmed() -> None:
    """ota.tracking.track.vet decides for the store: a block page is never recorded, a large loss once a
    second fetch gave the same text, an ordinary change at once."""
    from ota.tracking.track import vet

    blocked = vet("Access denied", len(TERMS))
    assert blocked is not None and blocked.block_page
    assert vet("Access denied", len(TERMS), confirmed=True) == blocked
    loss = vet(TERMS[:100], len(TERMS))
    assert loss is not None and not loss.block_page and "loses" in loss.reason
    assert vet(TERMS[:100], len(TERMS), confirmed=True) is None
    assert vet(TERMS + "\n\nClause 400: be kinder.", len(TERMS)) is None
