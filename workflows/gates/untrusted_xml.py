"""Reading XML that the code under test wrote (JUnit, Cobertura): hostile input, parsed in one place.

Every reader of a results file goes through ``parse_untrusted_xml``, so a hardening added here
covers them all.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET


class ResultsFileError(ValueError):
    """A JUnit or coverage file is missing, unreadable or malformed; the message says which and why."""


def parse_untrusted_xml(data: bytes, source: str) -> ET.Element:
    """The document's root element; ``ResultsFileError`` naming ``source`` for a document that
    declares entities or is not well-formed XML."""
    if b"<!ENTITY" in data:
        # The file is written by code under test; entity expansion is an attack, not a report.
        raise ResultsFileError(f"{source}: refused: declares XML entities")
    try:
        return ET.fromstring(data)
    except ET.ParseError as exc:
        raise ResultsFileError(f"{source}: not valid XML ({exc})") from None
