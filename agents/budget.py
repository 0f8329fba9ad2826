"""Budgets: stop runaway spending before the call that would overspend, not after.

``BudgetGuard.check`` runs before every model call with a worst-case projection (prompt
estimate + a full reply); ``add`` books each call's actual usage. Limits are per job (USD and
tokens), per repository per day and per deployment per month; the latter two read the
spend so far through callables the control plane provides, which must include every
record already handed to ``JobRecorder.usage``.

Replays of cassettes spend nothing; their recorded cost counts only with
``count_recorded`` (to demonstrate budget gates without a provider).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import BaseMessage

from agents.accounting import UsageRecord, project_call_cost


@dataclass(frozen=True)
class BudgetLimits:
    """Spending limits; ``None`` means unlimited."""

    job_usd: float | None = 5.0
    """USD one job may spend over all its steps and attempts."""
    job_tokens: int | None = 5_000_000
    """Tokens (input + output) one job may use."""
    repo_day_usd: float | None = None
    """USD all jobs of one repository may spend per calendar day."""
    deployment_month_usd: float | None = None
    """USD the whole deployment may spend per calendar month."""
    count_recorded: bool = False
    """Count a replay's recorded cost as spend (demo of budget gates)."""


class BudgetExhausted(RuntimeError):
    """A call would pass a budget; the workflow turns this into a human decision."""

    def __init__(self, reason: str, spent: float, limit: float, scope: str = "job"):
        super().__init__(reason)
        self.reason = reason
        self.spent = spent
        self.limit = limit
        self.scope = scope
        """``job_usd``, ``job_tokens``, ``repo_day_usd`` or ``deployment_month_usd``."""


def _counts(record: UsageRecord, count_recorded: bool) -> bool:
    return record.cost_basis in ("live", "unpriced") or (count_recorded and record.cost_basis == "recorded")


class BudgetGuard:
    def __init__(
        self,
        limits: BudgetLimits,
        *,
        job_spent_usd: float = 0.0,
        job_spent_tokens: int = 0,
        repo_day_spent: Callable[[], float] | None = None,
        deployment_month_spent: Callable[[], float] | None = None,
    ):
        """``job_spent_*``: what the job spent before this process took it over (resumes)."""
        self.limits = limits
        self.spent_usd = job_spent_usd
        self.spent_tokens = job_spent_tokens
        self._repo_day_spent = repo_day_spent
        self._deployment_month_spent = deployment_month_spent
        self._last_input_tokens = 0

    def _projection(self, model: Any, prompt: Sequence[BaseMessage]) -> tuple[float, int]:
        # Histories only grow within an attempt, so the last reported prompt size is a floor
        # that corrects the chars/4 estimate (which undercounts code).
        usd, tokens = project_call_cost(model, prompt, min_input_tokens=self._last_input_tokens)
        scripted = getattr(model, "scripted", False)
        if scripted and not (self.limits.count_recorded and getattr(model, "has_recorded_prices", False)):
            return 0.0, 0
        return usd, tokens

    def check(self, model: Any, prompt: Sequence[BaseMessage]) -> None:
        """Raise ``BudgetExhausted`` if the next call of ``model`` on ``prompt`` could pass a limit."""
        usd, tokens = self._projection(model, prompt)
        lim = self.limits
        if usd == 0 and tokens == 0:
            return
        self._against("job_usd", "this job", self.spent_usd, usd, lim.job_usd, money=True)
        self._against("job_tokens", "this job", self.spent_tokens, tokens, lim.job_tokens, money=False)
        if self._repo_day_spent is not None:
            self._against(
                "repo_day_usd", "this repository today", self._repo_day_spent(), usd, lim.repo_day_usd, money=True
            )
        if self._deployment_month_spent is not None:
            self._against(
                "deployment_month_usd",
                "this deployment this month",
                self._deployment_month_spent(),
                usd,
                lim.deployment_month_usd,
                money=True,
            )

    @staticmethod
    def _against(scope: str, what: str, spent: float, projected: float, limit: float | None, *, money: bool) -> None:
        if limit is None or spent + projected <= limit:
            return
        if money:
            reason = (
                f"budget for {what} exhausted: spent ${spent:.4f} of ${limit:.2f}; "
                f"the next call could cost up to ${projected:.4f}"
            )
        else:
            reason = (
                f"token budget for {what} exhausted: used {int(spent):,} of {int(limit):,} tokens; "
                f"the next call could use up to {int(projected):,}"
            )
        raise BudgetExhausted(reason, spent, limit, scope)

    def add(self, record: UsageRecord) -> None:
        """Book one call's actual usage against the job."""
        if _counts(record, self.limits.count_recorded):
            self.spent_usd += record.cost_usd
            self.spent_tokens += record.total_tokens
            self._last_input_tokens = record.input_tokens if record.role == "code" else 0

    def extend(self, *, job_usd: float | None = None, job_tokens: int | None = None) -> None:
        """Raise the job limits after a human approved more spending."""
        self.limits = replace(
            self.limits,
            job_usd=job_usd if job_usd is not None else self.limits.job_usd,
            job_tokens=job_tokens if job_tokens is not None else self.limits.job_tokens,
        )
