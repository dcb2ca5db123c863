"""Run-time leak watching for test suites: what a request to an ASGI app takes and does not give
back (``pytest --leaklint``).

The pytest entry point (``leaklint.pytest_plugin``) imports this package only when the option is
on. The package is in four parts:

* ``ledger``: requests, acquisitions and the leaks found at the end of each request;
* ``asgi``: the request boundary, around the app that a test client's transport calls;
* ``sources``: what is watched (SQLAlchemy pools and sessions, the knowledge base's clients and
  pools), each turned into acquisitions and releases in the ledger;
* ``sites`` and ``explain``: where a leaked resource was taken, and the static finding that
  explains it.
"""
