"""The test suite on every supported Python (``make test-all``; ``.ci/run`` runs two of them).

Each session makes its own virtualenv under ``.nox/`` with that Python, installs hop with
its ``test`` extra and runs pytest (arguments after ``--`` go to pytest). An interpreter
that is not installed fails its session, so a missing Python is never reported as passed.
The Makefile puts pyenv's interpreters on ``PATH``, where nox looks for ``python3.X``.
"""

from __future__ import annotations

import nox

#: Every Python hop supports (``requires-python >= 3.10``), oldest first.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]

nox.options.error_on_missing_interpreters = True
nox.options.reuse_venv = "yes"
nox.options.sessions = ["tests"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The whole pytest suite (both tiers) on one Python."""
    session.install("--quiet", "-e", ".[test]")
    session.run("python", "-m", "pytest", "-p", "no:cacheprovider", *session.posargs)
