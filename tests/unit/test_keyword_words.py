"""The keyword analyzer's ASCII shortcut yields exactly the words jieba yields (the index was written by jieba)."""

from __future__ import annotations

import random
import string

import pytest

from pipelines.store import indexes

pytestmark = pytest.mark.unit

TEXTS = [
    "Water at 92 to 96 °C, 1 g of coffee per 16 g of water.",  # non-ASCII: jieba itself
    "Version v1.2 costs 3.5% more; e.g. co-op hello_world 2024-01-05 10:30 U.S.A. .5 5. 1.2.3",
    "AT&T, C# and C++ are the only ASCII words in jieba's dictionary",
    "How many hours a day do adult cats sleep?",
    "What's the grind-size for espresso (fine) -- and the shot time [25-30 s]?",
    "",
]


def _jieba_words(text: str) -> list[tuple[str, int, int]]:
    """jieba's words, less the spaces and punctuation the analyzer drops."""
    return [w for w in indexes._jieba().tokenize(text, mode="search") if any(ch.isalnum() for ch in w[0])]


def _words(text: str) -> list[tuple[str, int, int]]:
    return [w for w in indexes._words(text) if any(ch.isalnum() for ch in w[0])]


@pytest.mark.parametrize("text", TEXTS)
def test_the_same_words_as_jieba(text: str) -> None:
    assert _words(text) == _jieba_words(text)


def test_the_same_words_as_jieba_on_random_ascii() -> None:
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + " .,;:_-%/'\"()?!\n\t"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60)))
        assert _words(text) == _jieba_words(text), text
