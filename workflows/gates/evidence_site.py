"""``sitecustomize`` of the gate's test runs (copied into the sandbox's tools directory, first on
``PYTHONPATH``): the interpreter runs under ``PYTHONSAFEPATH``, so ``python -m pytest`` does not put the
workspace first on ``sys.path``; it is appended here, after the standard library and site-packages,
where the repository's own packages are still found but none can stand in for the runner, its
plugins or a standard module. Child processes the tests start get the ordinary behaviour back.
"""

import os
import sys

if sys.flags.safe_path and os.environ.pop("PYTHONSAFEPATH", None) is not None:
    _workspace = os.getcwd()
    if _workspace not in sys.path:
        sys.path.append(_workspace)
