"""The web app: queue UI, job pages, review inbox, outcome dashboard, JSON API, webhooks, metrics.

Start it with ``uvicorn.run(create_app(Shipyard.load()), host=..., port=...)``.
"""

from orchestrator.web.app import create_app

__all__ = ["create_app"]
