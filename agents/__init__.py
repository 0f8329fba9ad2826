"""The LLM side of Shipyard: chat models, routing, budgets, prompts, tools and the agent loop.

Entry points: ``agents.router.ModelRouter`` (which model for a step), ``agents.ticket_triage.triage_ticket``,
``agents.plan_writer.write_plan``, ``agents.loop.run_coding_agent``, ``agents.budget.BudgetGuard``,
``agents.cassette.load_cassette`` / ``agents.scripted.ScriptedChatModel`` (replays) and
``agents.record.CassetteRecording`` (recording). Nothing here knows about Celery, the store
or the web: the outside is reached through a ``Sandbox`` and a job recorder.
"""
