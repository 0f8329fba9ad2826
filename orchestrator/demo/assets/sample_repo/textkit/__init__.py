"""textkit: small, dependency-free text helpers."""

from textkit.slug import slugify
from textkit.stats import top_words, word_count
from textkit.wrap import wrap

__all__ = ["slugify", "top_words", "word_count", "wrap"]
