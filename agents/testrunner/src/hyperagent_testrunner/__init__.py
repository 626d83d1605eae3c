"""HyperAgent's test runner: ``tests.run`` runs a project's tests and reports what failed.

``hyperagent_testrunner.agent`` is the agent (``python3 -m hyperagent_testrunner`` runs it);
``environment`` finds the Python and the venv, ``junit`` reads pytest's JUnit XML and trims
tracebacks, ``progress`` tallies the per-test events of the pytest plugin shipped in ``plugin/``.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
