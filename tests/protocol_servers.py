"""Loopback servers that speak the protocols papersift harvests, with faults on demand.

Written from the published descriptions, not from papersift's code:

- OAI-PMH 2.0 (openarchives.org/OAI/openarchivesprotocol.html): the six verbs, the error
  codes, selective harvesting by set and inclusive ``from``/``until`` datestamps, exclusive
  ``resumptionToken`` arguments, tokens with ``cursor`` and ``completeListSize``, an empty
  token on the last page, deleted records kept (``deletedRecord=persistent``); records in
  arXiv's ``arXivRaw`` format (every version with its date).
- The arXiv API (info.arxiv.org/help/api/user-manual.html): ``/api/query`` with
  ``search_query`` (``ti: au: abs: co: cat: all:`` joined by ``AND``/``OR``/``ANDNOT``),
  ``id_list``, ``start``, ``max_results``, ``sortBy``, ``sortOrder``; an Atom feed with
  ``opensearch:totalResults/startIndex/itemsPerPage``; errors as a feed whose one entry has
  an ``.../api/errors#...`` id, with HTTP 400.
- The Hugging Face Daily Papers API: ``/api/daily_papers?date=YYYY-MM-DD&limit=&p=``, a JSON
  list of items holding ``paper`` beside ``title``, ``publishedAt``, ``numComments``,
  ``submittedBy`` and ``organization``.

Faults, switched per request (the next ones, or by request number): ``503`` (with
``Retry-After``), ``malformed`` (a page cut and closed with bad markup, served whole),
``cut`` (the connection closed half way through the body), ``reset`` (closed before any
answer) and ``expire`` (every resumption token issued so far stops working). Every request
is logged with its arrival time, so tests can measure the gaps between requests.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import islice, pairwise
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

FAULTS = ("503", "malformed", "cut", "reset", "expire")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/xml; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Logged:
    """One request as the server saw it."""

    number: int
    arrived: float  # time.monotonic() when its request line was read
    target: str
    status: int
    fault: str | None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def do_GET(self) -> None:
        self.server.owner.dispatch(self, self.path)  # type: ignore[attr-defined]

    def do_POST(self) -> None:  # OAI-PMH allows form-encoded POST
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        self.server.owner.dispatch(self, urlsplit(self.path).path + "?" + body)  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: object) -> None:
        return None


class LoopbackServer:
    """An HTTP server on 127.0.0.1 (a free port) answering with ``app(path, query)``."""

    def __init__(self, app: Callable[[str, dict[str, list[str]]], Answer], *,
                 retry_after: str = "1") -> None:
        self.app = app
        self.retry_after = retry_after
        self.pending: list[str] = []  # faults for the next requests, in order
        self.at: dict[int, str] = {}  # faults by request number (1-based)
        self.log: list[Logged] = []
        self.after_answer: Callable[[Logged], None] | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, *faults: str) -> None:
        """The next requests get these faults, one each."""
        assert all(f in FAULTS for f in faults), faults
        with self._lock:
            self.pending.extend(faults)

    def gaps(self) -> list[float]:
        """Seconds between the arrivals of consecutive requests."""
        times = [entry.arrived for entry in self.log]
        return [b - a for a, b in pairwise(times)]

    def dispatch(self, handler: BaseHTTPRequestHandler, target: str) -> None:
        arrived = time.monotonic()
        with self._lock:
            number = len(self.log) + 1
            fault = self.at.pop(number, None) or (self.pending.pop(0) if self.pending else None)
        expire = getattr(self.app, "expire_tokens", None)
        if fault == "expire" and expire is not None:
            expire()
        answer: Answer | None = None
        if fault == "503":
            answer = Answer(503, b"Service unavailable, retry later\n", "text/plain",
                            (("Retry-After", self.retry_after),))
        elif fault != "reset":
            parts = urlsplit(target)
            answer = self.app(parts.path, parse_qs(parts.query, keep_blank_values=True))
            if fault == "malformed":
                answer = replace(answer, body=answer.body[: len(answer.body) // 2] + b"<</>\n")
        entry = Logged(number, arrived, target, answer.status if answer else 0, fault)
        with self._lock:  # logged before the client can see the answer
            self.log.append(entry)
        if answer is None:
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(handler, answer, cut=fault == "cut")
        if self.after_answer is not None:
            self.after_answer(entry)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, answer: Answer, *, cut: bool = False) -> None:
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            handler.send_header(name, value)
        handler.end_headers()
        if cut:
            handler.wfile.write(answer.body[: len(answer.body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        handler.wfile.write(answer.body)


# -- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One arXiv paper as the repository holds it."""

    id: str
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    versions: tuple[datetime, ...]  # the date of v1, v2, ...
    comment: str | None = None
    submitter: str = "A. Submitter"
    deleted_on: date | None = None

    @property
    def datestamp(self) -> date:
        """When the record last changed (a new version, or its deletion)."""
        return self.deleted_on or self.versions[-1].date()

    @property
    def sets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(set_of(c) for c in self.categories))

    def revised(self, when: datetime, abstract: str | None = None) -> Record:
        """A new version (with a new abstract) on ``when``."""
        return replace(self, versions=(*self.versions, when), abstract=abstract or self.abstract)


_PHYSICS = ("astro-ph", "cond-mat", "gr-qc", "hep-", "math-ph", "nlin", "nucl-", "physics",
            "quant-ph")


def set_of(category: str) -> str:
    """arXiv's OAI set for a category: ``cs.CL`` -> ``cs``, ``hep-th`` -> ``physics:hep-th``."""
    archive = category.split(".", 1)[0]
    if archive.startswith(_PHYSICS):
        return f"physics:{archive}"
    return archive


def records_from_jsonl(path: Path, n: int) -> list[Record]:
    """The first ``n`` papers of an arXiv listing dump as repository records: some have a
    second or third version a few days after the first (deterministic per id)."""
    records = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in islice(lines, n):
            row = json.loads(line)
            first = datetime.fromisoformat(row["listing_date"]).replace(tzinfo=UTC)
            digest = int(hashlib.sha256(row["id"].encode()).hexdigest()[:8], 16)
            first -= timedelta(hours=20, minutes=digest % 600)
            versions = [first]
            for extra in range(digest % 7 // 3):  # 0, 1 or 2 later versions
                versions.append(first + timedelta(days=2 + 3 * extra, hours=digest % 11))
            records.append(Record(
                id=row["id"], title=row["title"], abstract=row["abstract"],
                authors=tuple(row["authors"]), categories=tuple(row["categories"]),
                versions=tuple(versions), comment=row.get("comment"),
                submitter=row["authors"][0] if row["authors"] else "Anonymous",
            ))
    return records


# -- OAI-PMH 2.0 ---------------------------------------------------------------------------------

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
RAW_NS = "http://arxiv.org/OAI/arXivRaw/"
_LIST_ARGS = {"metadataPrefix", "from", "until", "set"}
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _rfc2822(when: datetime) -> str:
    return when.strftime("%a, %-d %b %Y %H:%M:%S GMT")


def _authors_line(names: Iterable[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


@dataclass
class OaiRepository:
    """An OAI-PMH 2.0 repository of :class:`Record` in the ``arXivRaw`` format."""

    records: dict[str, Record]
    page_size: int = 100
    epoch: int = 0  # tokens carry it; expiring them bumps it
    base_url: str = "http://127.0.0.1/oai"
    requests: list[dict[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the error codes answered, in order

    @classmethod
    def of(cls, records: Iterable[Record], page_size: int = 100) -> OaiRepository:
        return cls({r.id: r for r in records}, page_size)

    def expire_tokens(self) -> None:
        self.epoch += 1

    def __call__(self, path: str, query: dict[str, list[str]]) -> Answer:
        args = {k: v[0] for k, v in query.items()}
        self.requests.append(dict(args))
        if any(len(v) > 1 for v in query.values()):
            return self._error(None, "badArgument", "an argument is repeated")
        verb = args.pop("verb", "")
        handlers = {"Identify": self._identify, "ListMetadataFormats": self._formats,
                    "ListSets": self._sets, "ListRecords": self._list,
                    "ListIdentifiers": self._list, "GetRecord": self._get}
        if verb not in handlers:
            return self._error(None, "badVerb", f"illegal verb {verb!r}")
        return handlers[verb](verb, args)

    # -- responses --
    def _envelope(self, verb: str | None, args: dict[str, str], inner: str) -> Answer:
        attrs = "" if verb is None else f" verb={quoteattr(verb)}" + "".join(
            f" {k}={quoteattr(v)}" for k, v in sorted(args.items()))
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="{OAI_NS}">\n'
               f"<responseDate>{now}</responseDate>\n"
               f"<request{attrs}>{escape(self.base_url)}</request>\n{inner}\n</OAI-PMH>\n")
        return Answer(200, xml.encode())

    def _error(self, verb: str | None, code: str, message: str,
               args: dict[str, str] | None = None) -> Answer:
        self.errors.append(code)
        keep = verb if code not in ("badVerb", "badArgument") else None
        return self._envelope(keep, args or {},
                              f"<error code={quoteattr(code)}>{escape(message)}</error>")

    def _identify(self, verb: str, args: dict[str, str]) -> Answer:
        if args:
            return self._error(None, "badArgument", "Identify takes no arguments")
        earliest = min((r.datestamp for r in self.records.values()), default=date(2007, 1, 1))
        return self._envelope(verb, args, (
            "<Identify><repositoryName>loopback arXiv</repositoryName>"
            f"<baseURL>{escape(self.base_url)}</baseURL><protocolVersion>2.0</protocolVersion>"
            "<adminEmail>nobody@127.0.0.1</adminEmail>"
            f"<earliestDatestamp>{earliest.isoformat()}</earliestDatestamp>"
            "<deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DD</granularity>"
            "</Identify>"))

    def _formats(self, verb: str, args: dict[str, str]) -> Answer:
        return self._envelope(verb, args, (
            "<ListMetadataFormats><metadataFormat><metadataPrefix>arXivRaw</metadataPrefix>"
            "<schema>http://arxiv.org/OAI/arXivRaw.xsd</schema>"
            f"<metadataNamespace>{RAW_NS}</metadataNamespace></metadataFormat>"
            "</ListMetadataFormats>"))

    def _sets(self, verb: str, args: dict[str, str]) -> Answer:
        names = sorted({s for r in self.records.values() for s in r.sets})
        inner = "".join(f"<set><setSpec>{escape(s)}</setSpec><setName>{escape(s)}</setName></set>"
                        for s in names)
        return self._envelope(verb, args, f"<ListSets>{inner}</ListSets>")

    def _get(self, verb: str, args: dict[str, str]) -> Answer:
        if set(args) != {"identifier", "metadataPrefix"}:
            return self._error(None, "badArgument", "GetRecord needs identifier, metadataPrefix")
        if args["metadataPrefix"] != "arXivRaw":
            return self._error(verb, "cannotDisseminateFormat", "only arXivRaw", args)
        record = self.records.get(args["identifier"].removeprefix("oai:arXiv.org:"))
        if record is None:
            return self._error(verb, "idDoesNotExist", args["identifier"], args)
        return self._envelope(verb, args, f"<GetRecord>{self._record(record, True)}</GetRecord>")

    def _list(self, verb: str, args: dict[str, str]) -> Answer:
        if "resumptionToken" in args:
            if len(args) > 1:
                return self._error(None, "badArgument", "resumptionToken is exclusive")
            decoded = self._decode(args["resumptionToken"])
            if decoded is None:
                return self._error(verb, "badResumptionToken", "expired or unknown token", args)
            query, offset = decoded
        else:
            problem = self._check(args)
            if problem:
                return self._error(None, "badArgument", problem)
            if args["metadataPrefix"] != "arXivRaw":
                return self._error(verb, "cannotDisseminateFormat",
                                   f"{args['metadataPrefix']} is not offered", args)
            query, offset = args, 0
        matches = self._matching(query)
        if not matches:
            return self._error(verb, "noRecordsMatch", "no records match the request", args)
        page = matches[offset : offset + self.page_size]
        body = "".join(self._record(r, verb == "ListRecords") for r in page)
        end = offset + len(page)
        token = self._encode(query, end) if end < len(matches) else ""
        body += (f'<resumptionToken completeListSize="{len(matches)}" cursor="{offset}">'
                 f"{escape(token)}</resumptionToken>")
        return self._envelope(verb, args, f"<{verb}>{body}</{verb}>")

    @staticmethod
    def _check(args: dict[str, str]) -> str | None:
        if "metadataPrefix" not in args:
            return "metadataPrefix is required"
        extra = set(args) - _LIST_ARGS
        if extra:
            return f"illegal argument(s): {', '.join(sorted(extra))}"
        for key in ("from", "until"):
            if key in args and not _DAY_RE.match(args[key]):
                return f"{key} must be YYYY-MM-DD"
        if "from" in args and "until" in args and args["from"] > args["until"]:
            return "from is after until"
        return None

    def _matching(self, query: dict[str, str]) -> list[Record]:
        chosen = query.get("set")
        found = [
            r for r in self.records.values()
            if (chosen is None or any(s == chosen or s.startswith(chosen + ":") for s in r.sets))
            and query.get("from", "0000") <= r.datestamp.isoformat() <= query.get("until", "9999")
        ]
        return sorted(found, key=lambda r: (r.datestamp, r.id))

    def _encode(self, query: dict[str, str], offset: int) -> str:
        raw = json.dumps([self.epoch, offset, query]).encode()
        return base64.urlsafe_b64encode(raw).decode()

    def _decode(self, token: str) -> tuple[dict[str, str], int] | None:
        try:
            epoch, offset, query = json.loads(base64.urlsafe_b64decode(token.encode()))
        except ValueError:
            return None
        return (query, int(offset)) if epoch == self.epoch else None

    @staticmethod
    def _record(r: Record, with_metadata: bool) -> str:
        sets = "".join(f"<setSpec>{escape(s)}</setSpec>" for s in r.sets)
        status = ' status="deleted"' if r.deleted_on else ""
        head = (f"<header{status}><identifier>oai:arXiv.org:{r.id}</identifier>"
                f"<datestamp>{r.datestamp.isoformat()}</datestamp>{sets}</header>")
        if r.deleted_on or not with_metadata:
            return f"<record>{head}</record>" if with_metadata else head
        versions = "".join(
            f'<version version="v{i}"><date>{_rfc2822(when)}</date><size>1kb</size>'
            f"<source_type>D</source_type></version>" for i, when in enumerate(r.versions, 1))
        comment = f"<comments>{escape(r.comment)}</comments>" if r.comment else ""
        meta = (f'<arXivRaw xmlns="{RAW_NS}"><id>{r.id}</id>'
                f"<submitter>{escape(r.submitter)}</submitter>{versions}"
                f"<title>{escape(r.title)}</title>"
                f"<authors>{escape(_authors_line(r.authors))}</authors>"
                f"<categories>{escape(' '.join(r.categories))}</categories>{comment}"
                f"<abstract>{escape(r.abstract)}</abstract></arXivRaw>")
        return f"<record>{head}<metadata>{meta}</metadata></record>\n"


# -- the arXiv API (Atom) -------------------------------------------------------------------------

ATOM_NS = "http://www.w3.org/2005/Atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
ARXIV_ATOM_NS = "http://arxiv.org/schemas/atom"
_TERM_RE = re.compile(r'(ti|au|abs|co|cat|all|id):("[^"]*"|\S+)|(AND|OR|ANDNOT)')


@dataclass
class ArxivApi:
    """``/api/query`` over :class:`Record`, in the arXiv API's Atom with opensearch paging."""

    records: dict[str, Record]
    max_page: int = 2000
    empty_pages: int = 0  # answer this many pages with no entries (a glitch arXiv's API has)

    @classmethod
    def of(cls, records: Iterable[Record]) -> ArxivApi:
        return cls({r.id: r for r in records})

    def __call__(self, path: str, query: dict[str, list[str]]) -> Answer:
        if path != "/api/query":
            return Answer(404, b"not found", "text/plain")
        args = {k: v[0] for k, v in query.items()}
        try:
            start = int(args.get("start", "0"))
            size = int(args.get("max_results", "10"))
        except ValueError:
            return self._error("start and max_results must be integers")
        if start < 0 or size < 0 or size > 30000:
            return self._error("start must be non-negative and max_results in 0..30000")
        found = self._search(args.get("search_query", ""), args.get("id_list", ""))
        if found is None:
            return self._error(f"malformed query {args.get('search_query')!r}")
        key = {"lastUpdatedDate": lambda r: r.versions[-1],
               "submittedDate": lambda r: r.versions[0]}.get(args.get("sortBy", ""))
        if key is not None:
            found.sort(key=key, reverse=args.get("sortOrder", "descending") == "descending")
        page = found[start : start + min(size, self.max_page)]
        if self.empty_pages and page:
            self.empty_pages -= 1
            page = []
        return Answer(200, self._feed(page, len(found), start, len(page)),
                      "application/atom+xml; charset=utf-8")

    def _search(self, text: str, id_list: str) -> list[Record] | None:
        ids = [i.strip() for i in id_list.split(",") if i.strip()]
        pool = [self.records[i] for i in ids if i in self.records] if ids else list(
            self.records.values())
        if not text.strip():
            return pool if ids else []
        result: set[str] | None = None
        operator: str | None = None
        pos = 0
        for match in _TERM_RE.finditer(text):
            if text[pos : match.start()].strip():
                return None
            pos = match.end()
            if match.group(3):
                if result is None or operator is not None:
                    return None  # an operator with nothing on its left
                operator = match.group(3)
                continue
            hits = {r.id for r in pool if self._matches(r, match.group(1), match.group(2))}
            if result is None:
                result = hits
            elif operator is None:
                return None  # two terms without an operator between them
            elif operator == "AND":
                result &= hits
            elif operator == "ANDNOT":
                result -= hits
            else:
                result |= hits
            operator = None
        if text[pos:].strip() or result is None or operator is not None:
            return None
        return [r for r in pool if r.id in result]

    @staticmethod
    def _matches(r: Record, prefix: str, term: str) -> bool:
        words = term.strip('"').lower()
        if prefix == "cat":
            return words in (c.lower() for c in r.categories)
        if prefix == "id":
            return r.id == words
        fields = {"ti": r.title, "au": " ".join(r.authors), "abs": r.abstract,
                  "co": r.comment or ""}
        haystack = fields.get(prefix) or f"{r.title} {r.abstract} {' '.join(r.authors)}"
        return words.replace("_", " ") in " ".join(haystack.lower().split())

    def _error(self, message: str) -> Answer:
        entry = (f"<entry><id>http://arxiv.org/api/errors#{escape(message[:40])}</id>"
                 f"<title>Error</title><summary>{escape(message)}</summary></entry>")
        return Answer(400, self._wrap(entry, 1, 0, 1), "application/atom+xml; charset=utf-8")

    def _feed(self, page: list[Record], total: int, start: int, size: int) -> bytes:
        return self._wrap("".join(self._entry(r) for r in page), total, start, size)

    @staticmethod
    def _wrap(entries: str, total: int, start: int, size: int) -> bytes:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="{ATOM_NS}" '
                f'xmlns:opensearch="{OPENSEARCH_NS}" xmlns:arxiv="{ARXIV_ATOM_NS}">'
                "<title>arXiv Query</title><id>http://127.0.0.1/api/query</id>"
                f"<updated>{now}</updated>"
                f"<opensearch:totalResults>{total}</opensearch:totalResults>"
                f"<opensearch:startIndex>{start}</opensearch:startIndex>"
                f"<opensearch:itemsPerPage>{size}</opensearch:itemsPerPage>"
                f"{entries}</feed>\n").encode()

    @staticmethod
    def _entry(r: Record) -> str:
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        v = len(r.versions)
        authors = "".join(f"<author><name>{escape(a)}</name></author>" for a in r.authors)
        cats = "".join(f"<category term={quoteattr(c)}/>" for c in r.categories)
        comment = f"<arxiv:comment>{escape(r.comment)}</arxiv:comment>" if r.comment else ""
        return (f"<entry><id>http://arxiv.org/abs/{r.id}v{v}</id>"
                f"<updated>{r.versions[-1].strftime(stamp)}</updated>"
                f"<published>{r.versions[0].strftime(stamp)}</published>"
                f"<title>{escape(r.title)}</title><summary>{escape(r.abstract)}</summary>"
                f"{authors}{comment}"
                f'<link href="http://arxiv.org/abs/{r.id}v{v}" rel="alternate" type="text/html"/>'
                f'<link title="pdf" href="http://arxiv.org/pdf/{r.id}v{v}" rel="related"/>'
                f"<arxiv:primary_category term={quoteattr(r.categories[0])}/>{cats}</entry>")


# -- Hugging Face Daily Papers --------------------------------------------------------------------


@dataclass
class DailyItem:
    """One Daily Papers entry: the paper, and what the listing adds to it."""

    id: str
    title: str
    summary: str
    authors: tuple[str, ...]
    published: str  # the paper's publishedAt
    day: date  # the listing day
    upvotes: int = 0
    comments: int = 0
    submitter: str | None = None
    organization: str | None = None
    github: str | None = None

    def json(self) -> dict[str, object]:
        paper: dict[str, object] = {
            "id": self.id, "title": self.title, "summary": self.summary,
            "authors": [{"_id": f"a{i}", "name": n, "hidden": False}
                        for i, n in enumerate(self.authors)],
            "publishedAt": self.published, "upvotes": self.upvotes,
        }
        if self.github:
            paper["githubRepo"] = self.github
        item: dict[str, object] = {
            "paper": paper, "title": self.title, "numComments": self.comments,
            "publishedAt": f"{self.day.isoformat()}T06:00:00.000Z",
        }
        if self.submitter:
            item["submittedBy"] = {"_id": "u1", "fullname": self.submitter,
                                   "name": self.submitter.lower().replace(" ", ""),
                                   "type": "user"}
        if self.organization:
            item["organization"] = {"_id": "o1", "name": self.organization.lower(),
                                    "fullname": self.organization}
        return item


def daily_items(path: Path, n: int | None = None) -> list[DailyItem]:
    """Entries from a keyed Daily Papers dump; submitters, organizations and code links are
    given to some of them, deterministically by id."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    items = []
    for key, row in islice(rows.items(), n):
        digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
        items.append(DailyItem(
            id=key, title=row["title"], summary=row["abstract"], authors=tuple(row["authors"]),
            published=row["publication_date"], day=date.fromisoformat(row["publication_date"][:10]),
            upvotes=int(row.get("upvotes") or 0), comments=digest % 5,
            submitter=("AK", "Niels", "Merve", None)[digest % 4],
            organization=("Meta", "Google", None)[digest % 3],
            github=f"https://github.com/lab{digest % 97}/{key}" if digest % 2 else None,
        ))
    return items


@dataclass
class DailyPapersApi:
    """``/api/daily_papers?date=&limit=&p=`` over :class:`DailyItem`."""

    items: dict[str, DailyItem]
    max_limit: int = 100

    @classmethod
    def of(cls, items: Iterable[DailyItem]) -> DailyPapersApi:
        return cls({i.id: i for i in items})

    def __call__(self, path: str, query: dict[str, list[str]]) -> Answer:
        if path != "/api/daily_papers":
            return self._json(404, {"error": "Sorry, we can't find the page you are looking for."})
        args = {k: v[0] for k, v in query.items()}
        try:
            day = date.fromisoformat(args["date"]) if "date" in args else max(
                i.day for i in self.items.values())
            limit = int(args.get("limit", "50"))
            page = int(args.get("p", "0"))
        except ValueError as err:
            return self._json(400, {"error": f"Invalid query parameter: {err}"})
        if not 1 <= limit <= self.max_limit or page < 0:
            return self._json(400, {"error": f"limit must be in 1..{self.max_limit}"})
        listed = sorted((i for i in self.items.values() if i.day == day),
                        key=lambda i: (-i.upvotes, i.id))
        chosen = listed[page * limit : (page + 1) * limit]
        return self._json(200, [i.json() for i in chosen])

    @staticmethod
    def _json(status: int, value: object) -> Answer:
        return Answer(status, json.dumps(value).encode(), "application/json; charset=utf-8")
