"""Loop guard: an agent repeating the same action and getting the same answer is stuck.

The third identical (tool, arguments, result) triple earns one nudge; any triple reaching
three again after the nudge ends the attempt with stop reason ``stuck``.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any, Literal

Verdict = Literal["ok", "nudge", "stuck"]


class LoopGuard:
    def __init__(self, repeat_limit: int = 3):
        self.repeat_limit = repeat_limit
        self.nudged = False
        self._seen: Counter[str] = Counter()

    @staticmethod
    def _key(tool: str, args: dict[str, Any], result: str) -> str:
        raw = json.dumps([tool, args, result], sort_keys=True, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()

    def observe(self, tool: str, args: dict[str, Any], result: str) -> Verdict:
        """Record one tool call and its result; say whether to carry on, nudge or stop."""
        key = self._key(tool, args, result)
        self._seen[key] += 1
        if self._seen[key] < self.repeat_limit:
            return "ok"
        if not self.nudged:
            self.nudged = True
            return "nudge"
        return "stuck"
