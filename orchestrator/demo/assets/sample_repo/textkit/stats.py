"""Word statistics."""

from collections import Counter


def words(text: str) -> list[str]:
    """The whitespace-separated tokens of ``text``, lower-cased, punctuation stripped at the ends."""
    return [token.strip(".,;:!?\"'()").lower() for token in text.split()]


def word_count(text: str) -> int:
    """Number of words in ``text``."""
    return len(words(text))


def top_words(text: str, n: int = 3) -> list[tuple[str, int]]:
    """The ``n`` most frequent words with their counts, most frequent first."""
    return Counter(words(text)).most_common(n)
