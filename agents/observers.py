"""What the agent code needs from its caller, as small protocols: somewhere to write the timeline
and the cost ledger, and a spending guard. ``workflows.ports.JobRecorder`` is a ``CallRecorder``
with more; ``agents.budget.BudgetGuard`` is the ``SpendingGuard``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from agents.accounting import UsageRecord


class CallRecorder(Protocol):
    """The timeline and the usage ledger of one job."""

    def event(self, kind: str, message: str, /, **data: Any) -> None:
        """Append to the job's timeline; the recorder redacts secrets."""
        ...

    def usage(self, record: UsageRecord) -> None:
        """Store one priced model call."""
        ...


class SpendingGuard(Protocol):
    """Checked before every model call, fed after it (``agents.budget.BudgetGuard``)."""

    def check(self, model: Any, prompt: Sequence[Any]) -> None:
        """Raise ``agents.budget.BudgetExhausted`` when the call would pass a limit."""
        ...

    def add(self, record: UsageRecord) -> None: ...
