"""Line coverage from Cobertura XML or LCOV, mapped onto repository paths.

Reports name files in their own way (absolute paths inside the sandbox, paths relative to a
``<source>`` root, relative paths); every name is mapped to a tracked repository path. A line
absent from the report is not executable (a comment, a blank, a declaration).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from workflows.gates.untrusted_xml import ResultsFileError, parse_untrusted_xml


@dataclass
class CoverageData:
    """Per-file executable lines and the subset that ran, keyed by repository path."""

    lines: dict[str, dict[int, bool]] = field(default_factory=dict)
    """path → {line number: covered}"""
    unmapped: list[str] = field(default_factory=list)
    """Report file names that match no tracked file (generated code, files outside the repo)."""

    def total_percent(self) -> float | None:
        total = sum(len(v) for v in self.lines.values())
        if total == 0:
            return None
        covered = sum(sum(1 for hit in v.values() if hit) for v in self.lines.values())
        return round(100.0 * covered / total, 2)


class _PathMapper:
    """Maps the report's file names to tracked repository paths."""

    def __init__(self, tracked: set[str], workdirs: list[str]) -> None:
        self.tracked = tracked
        self.workdirs = [w.rstrip("/") for w in workdirs if w]
        self._by_suffix: dict[str, list[str]] = {}
        for path in tracked:
            parts = path.split("/")
            for i in range(len(parts)):
                self._by_suffix.setdefault("/".join(parts[i:]), []).append(path)

    def _relative(self, path: str) -> str:
        path = posixpath.normpath(path)
        for root in self.workdirs:
            if path == root or path.startswith(root + "/"):
                return path[len(root) + 1 :]
        return path[2:] if path.startswith("./") else path

    def map(self, name: str, sources: list[str]) -> str | None:
        guesses = [posixpath.join(src, name) for src in sources if not posixpath.isabs(name)] + [name]
        for guess in guesses:
            rel = self._relative(guess)
            if rel in self.tracked:
                return rel
        candidates = self._by_suffix.get(self._relative(name).lstrip("/"), [])
        return candidates[0] if len(candidates) == 1 else None


def _merge(data: CoverageData, path: str, line: int, hit: bool) -> None:
    per_file = data.lines.setdefault(path, {})
    per_file[line] = per_file.get(line, False) or hit


def parse_cobertura(raw: bytes, source: str, mapper: _PathMapper) -> CoverageData:
    root = parse_untrusted_xml(raw, source)
    if root.tag != "coverage":
        raise ResultsFileError(f"{source}: not a Cobertura report (root element <{root.tag}>, expected <coverage>)")
    sources = [(s.text or "").strip() for s in root.iter("source") if (s.text or "").strip()]
    data = CoverageData()
    for cls in root.iter("class"):
        name = cls.get("filename") or ""
        path = mapper.map(name, sources)
        if path is None:
            data.unmapped.append(name)
            continue
        data.lines.setdefault(path, {})
        for line in cls.iter("line"):
            try:
                _merge(data, path, int(line.get("number", "")), int(line.get("hits", "0")) > 0)
            except ValueError:
                raise ResultsFileError(f"{source}: {name}: line entry without a numeric number/hits") from None
    return data


def parse_lcov(raw: bytes, source: str, mapper: _PathMapper) -> CoverageData:
    data = CoverageData()
    path: str | None = None
    current = ""
    seen_record = False
    for lineno, text in enumerate(raw.decode("utf-8", errors="replace").splitlines(), 1):
        text = text.strip()
        if text.startswith("SF:"):
            current = text[3:]
            path = mapper.map(current, [])
            seen_record = True
            if path is None:
                data.unmapped.append(current)
            else:
                data.lines.setdefault(path, {})
        elif text.startswith("DA:") and path is not None:
            fields = text[3:].split(",")
            try:
                _merge(data, path, int(fields[0]), int(float(fields[1])) > 0)
            except (ValueError, IndexError):
                raise ResultsFileError(f"{source}: line {lineno}: malformed DA record {text!r}") from None
        elif text == "end_of_record":
            path = None
    if not seen_record:
        raise ResultsFileError(f"{source}: not an LCOV report (no SF: record)")
    return data


def parse_coverage(raw: bytes, fmt: str, source: str, *, tracked: set[str], workdirs: list[str]) -> CoverageData:
    """Parse a report of ``fmt`` (``cobertura``/``lcov``); ``ResultsFileError`` names ``source``."""
    if not raw.strip():
        raise ResultsFileError(f"{source}: empty: the test command wrote no coverage data")
    mapper = _PathMapper(tracked, workdirs)
    if fmt == "lcov":
        return parse_lcov(raw, source, mapper)
    return parse_cobertura(raw, source, mapper)
