"""A LOCAL GitHub EMULATOR for the demo and the tests — not GitHub, and never a place to keep work.

It answers the REST endpoints Shipyard uses (repositories, issues, comments, pulls, reviews, check
runs, merges, collaborator permission, installation tokens, ETags) from memory, and git over smart
HTTP through ``git http-backend`` with token auth, so Shipyard's GitHub forge runs unchanged
against it (``shipyard demo --forge github-emulator``). Everything it holds is gone when it stops.
"""

from orchestrator.emulators.github.asgi import State, create_app
from orchestrator.emulators.github.server import serve_emulator

__all__ = ["State", "create_app", "serve_emulator"]
