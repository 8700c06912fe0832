"""An OAI-PMH 2.0 repository serving ``arXivRaw`` records."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from xml.sax.saxutils import escape, quoteattr

from .loopback import Answer
from .records import Record

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
    by_datestamp: bool = True  # list in datestamp order (the protocol does not promise it)

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
        if not self.by_datestamp:
            return sorted(found, key=lambda r: r.id[::-1])
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
