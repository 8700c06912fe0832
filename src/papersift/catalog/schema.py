"""The catalog's SQLite schema, its numbered migrations, and connections per thread.

Every thread gets its own connection (SQLite connections are not for sharing across
threads), each in WAL mode with a busy timeout, so readers never wait for a writer and a
writer waits its turn instead of failing. Writes go through :meth:`Connections.writing`:
``BEGIN IMMEDIATE`` (take the write lock first, so a transaction never fails halfway on a
lock), retried until a deadline when another process holds the lock for long.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from papersift.errors import LibraryError
from papersift.identity import title_key
from papersift.query import name_key

__all__ = ["MIGRATIONS", "CatalogError", "Connections"]


class CatalogError(LibraryError):
    """The catalog cannot be opened, is from a newer papersift, or stayed locked."""


def _author_keys(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT rowid, name FROM paper_authors").fetchall()
    db.executemany("UPDATE paper_authors SET key = ? WHERE rowid = ?",
                   [(name_key(name), rowid) for rowid, name in rows])


def _title_keys(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT rowid, title FROM papers").fetchall()
    db.executemany("UPDATE papers SET title_key = ? WHERE rowid = ?",
                   [(title_key(title), rowid) for rowid, title in rows])


Migration = str | Callable[[sqlite3.Connection], None]

MIGRATIONS: tuple[tuple[Migration, ...], ...] = (
    # 1: papers, their authors and categories, and the change log
    ("""
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE papers (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        version INTEGER,
        title TEXT NOT NULL,
        abstract TEXT NOT NULL,
        authors TEXT NOT NULL,
        author_count INTEGER,
        published TEXT,
        categories TEXT NOT NULL,
        organization TEXT,
        upvotes INTEGER NOT NULL DEFAULT 0,
        abs_url TEXT,
        pdf_url TEXT,
        code_urls TEXT NOT NULL,
        comment TEXT,
        fingerprint TEXT NOT NULL,
        seq INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX papers_seq ON papers (seq);
    CREATE INDEX papers_published ON papers (published);
    CREATE TABLE paper_authors (
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (paper, position)
    );
    CREATE INDEX paper_authors_name ON paper_authors (name COLLATE NOCASE);
    CREATE TABLE paper_categories (
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        category TEXT NOT NULL,
        PRIMARY KEY (paper, position)
    );
    CREATE INDEX paper_categories_category ON paper_categories (category);
    CREATE TABLE removed (rowid INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
    CREATE INDEX removed_seq ON removed (seq);
    """,),
    # 2: upvotes cast on this server, one per voter (a signed cookie id or a user key)
    ("""
    CREATE TABLE votes (
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        voter TEXT NOT NULL,
        created TEXT NOT NULL,
        PRIMARY KEY (paper, voter)
    );
    CREATE INDEX votes_voter ON votes (voter);
    """,),
    # 3: votes counted on the paper row (changed in the vote's own transaction), author
    #    names as the author filter compares them (query.name_key) with a phrase index,
    #    job states and rate-limit buckets shared by every process
    ("""
    ALTER TABLE papers ADD COLUMN votes_here INTEGER NOT NULL DEFAULT 0;
    UPDATE papers SET votes_here = (SELECT count(*) FROM votes WHERE votes.paper = papers.rowid);
    CREATE INDEX papers_day_votes ON papers (published, (upvotes + votes_here));
    ALTER TABLE paper_authors ADD COLUMN key TEXT NOT NULL DEFAULT '';
    """, _author_keys, """
    CREATE INDEX paper_authors_key ON paper_authors (key);
    CREATE VIRTUAL TABLE author_words USING fts5 (
        key, content = 'paper_authors', content_rowid = 'rowid',
        tokenize = "unicode61 remove_diacritics 0"
    );
    INSERT INTO author_words (author_words) VALUES ('rebuild');
    CREATE TRIGGER paper_authors_added AFTER INSERT ON paper_authors BEGIN
        INSERT INTO author_words (rowid, key) VALUES (new.rowid, new.key);
    END;
    CREATE TRIGGER paper_authors_removed AFTER DELETE ON paper_authors BEGIN
        INSERT INTO author_words (author_words, rowid, key) VALUES ('delete', old.rowid, old.key);
    END;
    CREATE TABLE jobs (name TEXT PRIMARY KEY, state TEXT NOT NULL);
    CREATE TABLE rate_limits (key TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL);
    """),
    # 4: which papers have a current vector of which encoder (the change number of the
    #    paper the vector was made from), so embedding can go newest first and vectors can
    #    be imported for any papers
    ("""
    CREATE TABLE embedded (
        encoder TEXT NOT NULL,
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        PRIMARY KEY (encoder, paper)
    );
    CREATE INDEX embedded_paper ON embedded (paper);
    """,),
    # 5: who posted a paper to a Daily Papers listing; the votes of papers their source
    #    deleted, kept by paper id until the paper returns (votes cascade with their row)
    ("""
    ALTER TABLE papers ADD COLUMN submitter TEXT;
    CREATE TABLE kept_votes (
        paper_id TEXT NOT NULL,
        voter TEXT NOT NULL,
        created TEXT NOT NULL,
        PRIMARY KEY (paper_id, voter)
    );
    """,),
    # 6: people: accounts, sign-in links and sessions and API tokens (digests only),
    #    member votes in the votes table (marked with their user, counted apart on the
    #    paper), private ratings, collections of saved papers with notes
    ("""
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        admin INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'active',
        created TEXT NOT NULL
    );
    CREATE TABLE sign_in_links (
        digest TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        sign_up INTEGER NOT NULL,
        next_path TEXT NOT NULL,
        expires TEXT NOT NULL,
        used TEXT
    );
    CREATE INDEX sign_in_links_email ON sign_in_links (email);
    CREATE TABLE sessions (
        digest TEXT PRIMARY KEY,
        user INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        created TEXT NOT NULL,
        expires TEXT NOT NULL
    );
    CREATE INDEX sessions_user ON sessions (user);
    CREATE TABLE api_tokens (
        id INTEGER PRIMARY KEY,
        user INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        digest TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL,
        last_used TEXT
    );
    CREATE INDEX api_tokens_user ON api_tokens (user);
    ALTER TABLE votes ADD COLUMN user INTEGER REFERENCES users (id) ON DELETE CASCADE;
    CREATE INDEX votes_user ON votes (user);
    ALTER TABLE papers ADD COLUMN votes_members INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE kept_votes ADD COLUMN user INTEGER;
    CREATE TABLE ratings (
        user INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        value INTEGER NOT NULL CHECK (value IN (-1, 1)),
        created TEXT NOT NULL,
        PRIMARY KEY (user, paper)
    );
    CREATE TABLE collections (
        id INTEGER PRIMARY KEY,
        user INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        UNIQUE (user, name)
    );
    CREATE TABLE collection_items (
        collection INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        note TEXT,
        added TEXT NOT NULL,
        PRIMARY KEY (collection, paper)
    );
    CREATE INDEX collection_items_paper ON collection_items (paper);
    """,),
    # 7: one paper, one record: each paper's normalised title (papersift.identity.title_key)
    #    to find the same paper arriving under another id, and the other ids a paper is
    #    known by (the ids of the records merged into it), so they keep resolving
    ("""
    ALTER TABLE papers ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
    """, _title_keys, """
    CREATE INDEX papers_title_key ON papers (title_key);
    CREATE TABLE aliases (
        alias TEXT PRIMARY KEY,
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE
    );
    CREATE INDEX aliases_paper ON aliases (paper);
    """),
    # 8: community: digest subscriptions and their saved searches, the digest outbox (each
    # digest recorded in the transaction that moves its subscription's cursor), papers
    # submitted to a day's feed, comments, and each member's community preferences.
    ("""
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        user INTEGER REFERENCES users (id) ON DELETE CASCADE,
        frequency TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly')),
        trending INTEGER NOT NULL DEFAULT 1,
        picks INTEGER NOT NULL DEFAULT 1,
        status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'unsubscribed')),
        confirm_digest TEXT,
        confirm_expires TEXT,
        cursor TEXT,
        created TEXT NOT NULL,
        confirmed TEXT
    );
    CREATE INDEX subscriptions_user ON subscriptions (user);
    CREATE TABLE saved_searches (
        id INTEGER PRIMARY KEY,
        subscription INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
        query TEXT NOT NULL,
        mode TEXT NOT NULL,
        created TEXT NOT NULL,
        UNIQUE (subscription, query, mode)
    );
    CREATE TABLE digest_outbox (
        id INTEGER PRIMARY KEY,
        subscription INTEGER REFERENCES subscriptions (id) ON DELETE SET NULL,
        through TEXT NOT NULL,
        message_id TEXT NOT NULL UNIQUE,
        recipient TEXT NOT NULL,
        raw BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'handed', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created TEXT NOT NULL,
        sent TEXT,
        UNIQUE (subscription, through)
    );
    CREATE INDEX digest_outbox_state ON digest_outbox (state);
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY,
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        day TEXT NOT NULL,
        user INTEGER REFERENCES users (id) ON DELETE CASCADE,
        state TEXT NOT NULL CHECK (state IN ('shown', 'hidden', 'featured')),
        created TEXT NOT NULL,
        UNIQUE (paper, day)
    );
    CREATE INDEX submissions_day ON submissions (day);
    CREATE INDEX submissions_user ON submissions (user);
    CREATE TABLE comments (
        id INTEGER PRIMARY KEY,
        paper INTEGER NOT NULL REFERENCES papers (rowid) ON DELETE CASCADE,
        user INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        parent INTEGER REFERENCES comments (id) ON DELETE SET NULL,
        body TEXT NOT NULL,
        hidden INTEGER NOT NULL DEFAULT 0,
        created TEXT NOT NULL,
        edited TEXT
    );
    CREATE INDEX comments_paper ON comments (paper);
    CREATE INDEX comments_user ON comments (user);
    CREATE TABLE community_prefs (
        user INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
        name TEXT,
        notify_replies INTEGER NOT NULL DEFAULT 0
    );
    """,),
    # 9: the vote ledger's audit (papersift.vote_audit): each anonymous vote's network as a
    #    keyed digest (no address in clear), kept with votes a source's deletion keeps
    ("""
    ALTER TABLE votes ADD COLUMN network TEXT;
    ALTER TABLE kept_votes ADD COLUMN network TEXT;
    CREATE INDEX votes_network ON votes (network);
    CREATE INDEX votes_created ON votes (created);
    """,),
    # 10: the ratings and saved items of papers their source deleted, kept by paper id until
    #     the paper returns, as their votes are (they go with the account or collection)
    ("""
    CREATE TABLE kept_ratings (
        paper_id TEXT NOT NULL,
        user INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        value INTEGER NOT NULL,
        created TEXT NOT NULL,
        PRIMARY KEY (paper_id, user)
    );
    CREATE TABLE kept_saves (
        paper_id TEXT NOT NULL,
        collection INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
        note TEXT,
        added TEXT NOT NULL,
        PRIMARY KEY (paper_id, collection)
    );
    CREATE INDEX kept_ratings_user ON kept_ratings (user);
    CREATE INDEX kept_saves_collection ON kept_saves (collection);
    """,),
)


class Connections:
    """One SQLite connection per thread to one database file."""

    def __init__(self, path: str, *, readonly: bool = False,
                 busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.readonly = readonly
        self.busy_timeout_ms = busy_timeout_ms
        # ":memory:" would give each thread its own empty database; share one instead.
        self._uri = (f"file:papersift-{uuid.uuid4().hex}?mode=memory&cache=shared"
                     if path == ":memory:" else
                     f"file:{path}?mode=ro" if readonly else path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        self._keepalive = self.get() if path == ":memory:" else None

    def get(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._open()
            self._local.db = db
            with self._guard:
                self._all.append(db)
        return db

    def _open(self) -> sqlite3.Connection:
        uri = self._uri.startswith("file:")
        try:
            db = sqlite3.connect(self._uri, uri=uri, check_same_thread=False,
                                 isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            if not self.readonly and self.path != ":memory:":
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as err:
            raise CatalogError(f"{self.path}: not a papersift catalog ({err})") from None
        return db

    @contextmanager
    def writing(self, *, deadline: float = 60.0) -> Iterator[sqlite3.Connection]:
        """A write transaction: the write lock first (waiting for other writers up to
        ``deadline`` seconds), then commit, or roll back on any error."""
        db = self.get()
        give_up = time.monotonic() + deadline
        delay = 0.05
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise
                if time.monotonic() > give_up:
                    raise CatalogError(
                        f"{self.path} stayed locked by another writer for {deadline:.0f} s; "
                        "try again when the other ingest finishes") from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def migrate(self) -> None:
        """Bring the schema up to the newest migration, each in its own transaction."""
        db = self.get()
        current = db.execute("PRAGMA user_version").fetchone()[0]
        if current > len(MIGRATIONS):
            raise CatalogError(
                f"{self.path}: made by a newer papersift (schema {current}); upgrade papersift"
            )
        for number, steps in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.writing() as tx:
                if tx.execute("PRAGMA user_version").fetchone()[0] >= number:
                    continue  # another process migrated while this one waited
                for step in steps:
                    if callable(step):
                        step(tx)
                        continue
                    for statement in _statements(step):
                        tx.execute(statement)
                tx.execute(f"PRAGMA user_version = {number:d}")

    def close(self) -> None:
        with self._guard:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (triggers keep their inner semicolons)."""
    out: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        out.append(buffer.strip())
    return out
