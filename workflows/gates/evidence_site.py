"""``sitecustomize`` of the gate's test runs (copied into the sandbox's tools directory, first on
``PYTHONPATH``): the interpreter runs under ``PYTHONSAFEPATH``, so ``python -m pytest`` does not put the
workspace first on ``sys.path``; it is appended here, after the standard library and site-packages,
where the repository's own packages are still found but none can stand in for the runner, its
plugins or a standard module. Child processes the tests start get the ordinary behaviour back.
"""

import os
import sys


def _run_next_sitecustomize() -> None:
    """The ``sitecustomize`` this one hides (the sandbox's tooling directory has one that puts the
    tooling's own dependencies on the path): the next on ``sys.path``, run before the workspace is
    on it, so that no workspace module can stand in for what the tooling imports."""
    here = os.path.dirname(os.path.abspath(__file__))
    for entry in list(sys.path):
        folder = os.path.abspath(entry or os.curdir)
        path = os.path.join(folder, "sitecustomize.py")
        if entry and folder != here and os.path.isfile(path):
            with open(path, "rb") as source:
                code = compile(source.read(), path, "exec")
            exec(code, {"__name__": "sitecustomize", "__file__": path})
            return


_run_next_sitecustomize()

if sys.flags.safe_path and os.environ.pop("PYTHONSAFEPATH", None) is not None:
    _workspace = os.getcwd()
    if _workspace not in sys.path:
        sys.path.append(_workspace)
