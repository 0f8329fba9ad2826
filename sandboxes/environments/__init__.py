"""Each repository's own environment, on every backend.

A repository's code (its setup, its tests, the agent's commands) never runs in Shipyard's
interpreter or packages. Every sandbox gets:

* ``/shipyard/env`` (``ENV_MOUNT``): a writable directory the sandbox owns, where the
  repository's environment lives: a virtualenv made from the backend's base interpreter (the
  image's ``python3`` on Docker, the host's base Python on bwrap), first on ``PATH``, into which
  the repository's ``setup`` commands install what they need (``pip install …`` lands there).
* ``/shipyard/gate`` (``GATE_MOUNT``): the gate's own test tooling (pytest, pytest-cov,
  coverage.py, pip), read-only, at the versions Shipyard itself runs, first on ``PYTHONPATH``:
  a repository that installs another pytest cannot replace it (``gate_tools``).

Environments are cached (``cache``): keyed by the base interpreter or image, the setup commands
and the dependency files they read (``recipe``), the second sandbox on an unchanged key starts
from the cached environment (a read-only layer with a private writable one on top) instead of
running setup again (on the plain backend, whose paths are host paths, a copy with its paths
rewritten). ``repository`` ties these together for the backends.
"""
