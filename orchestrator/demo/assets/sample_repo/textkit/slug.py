"""URL slugs."""

import unicodedata


def slugify(text: str, separator: str = "-") -> str:
    """Lower-case ASCII slug of ``text``: letters and digits kept, everything else a separator."""
    normalized = unicodedata.normalize("NFKD", text)
    ascii_text = normalized.encode("ascii", "ignore").decode("ascii")
    chars = [c.lower() if c.isalnum() else separator for c in ascii_text]
    return "".join(chars).strip(separator)
