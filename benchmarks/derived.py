"""Evaluation collections derived from the shared data, written as BEIR folders.

- ``scifact-verbose``: SciFact's corpus and judgments, each test claim rewritten as a request
  ("What articles exist which deal with ...?") by a template chosen from the claim's id.
- ``arxiv-titles``: the 75k arXiv sample's abstracts (no titles) as the corpus and 2,000 of
  its titles as queries, each with its own abstract as the one relevant document.
- ``arxiv-titles-verbose``: the same, the titles rewritten by the same templates.

The templates are fixed here, before any measurement, and chosen per query by a checksum of
its id: nothing is tuned on judgments. Some are request phrasings that
:mod:`papersift.phrasing` removes, some are not (the last three), so the set also measures
what the stop list alone does with phrasing nobody anticipated.

    python benchmarks/derived.py /tmp/collections     # writes the three folders
"""

from __future__ import annotations

import argparse
import gzip
import json
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from common import DATA, SAMPLE

#: ``{topic}`` is the claim or title, first letter lower-cased, final full stop dropped.
TEMPLATES = (
    "What articles exist which deal with {topic}?",
    "I am interested in papers on {topic}.",
    "Are there any studies showing that {topic}?",
    "Find me research about {topic}, please.",
    "Which publications discuss {topic}?",
    "Is there evidence that {topic}?",
    "Could you point me to work on {topic}?",
    # phrasings papersift.phrasing has no pattern for
    "What do we know about {topic}?",
    "Has anyone written anything on {topic}?",
    "My question is about {topic}.",
)
TITLE_QUERIES = 2000


def verbose(query_id: str, text: str) -> str:
    """``text`` rewritten by the template that ``query_id`` picks."""
    topic = " ".join(text.split()).rstrip(".")
    if topic[:1].isupper() and not topic[1:2].isupper():  # keep acronyms ("DNA", "GPT-4")
        topic = topic[0].lower() + topic[1:]
    template = TEMPLATES[zlib.crc32(query_id.encode()) % len(TEMPLATES)]
    return template.format(topic=topic)


def _write_jsonl(path: Path, rows: Iterator[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def _write_qrels(path: Path, pairs: list[tuple[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("query-id\tcorpus-id\tscore\n"
                    + "".join(f"{q}\t{d}\t1\n" for q, d in pairs))


def scifact_verbose(out: Path) -> Path:
    """SciFact with its test claims rewritten as requests (corpus linked, not copied)."""
    source = DATA / "scifact"
    folder = out / "scifact-verbose"
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    corpus = folder / "corpus.jsonl"
    if not corpus.exists():
        corpus.symlink_to(source / "corpus.jsonl")
    (folder / "qrels" / "test.tsv").write_text((source / "qrels" / "test.tsv").read_text())
    queries = [json.loads(line) for line in (source / "queries.jsonl").open(encoding="utf-8")]
    _write_jsonl(folder / "queries.jsonl",
                 ({"_id": q["_id"], "text": verbose(q["_id"], q["text"])} for q in queries))
    return folder


def arxiv_titles(out: Path, *, queries: int = TITLE_QUERIES, corpus: int | None = None,
                 seed: int = 0) -> list[Path]:
    """The title -> own abstract task, plain and verbose (one corpus file, linked). With
    ``corpus``, the abstracts are the queries' own plus others drawn at random up to that
    many (embedding all 75k takes 30-40 minutes on 2 idle cores)."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        papers = [json.loads(line) for line in lines]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(papers))
    picked = np.sort(order[:queries])
    if corpus is not None and corpus < len(papers):
        papers = [papers[i] for i in np.sort(order[:corpus])]
        picked = np.searchsorted(np.sort(order[:corpus]), picked)
    suffix = "" if corpus is None else f"-{len(papers) // 1000}k"
    plain, wordy = out / f"arxiv-titles{suffix}", out / f"arxiv-titles{suffix}-verbose"
    plain.mkdir(parents=True, exist_ok=True)
    _write_jsonl(plain / "corpus.jsonl", ({"_id": p["id"], "title": "",
                                           "text": " ".join(p["abstract"].split())}
                                          for p in papers))
    pairs = [(f"t{i}", papers[i]["id"]) for i in picked.tolist()]
    for folder, rewrite in ((plain, False), (wordy, True)):
        folder.mkdir(parents=True, exist_ok=True)
        if folder is wordy and not (folder / "corpus.jsonl").exists():
            (folder / "corpus.jsonl").symlink_to(plain / "corpus.jsonl")
        _write_qrels(folder / "qrels" / "test.tsv", pairs)
        _write_jsonl(folder / "queries.jsonl", (
            {"_id": qid, "text": verbose(qid, papers[i]["title"]) if rewrite
             else " ".join(papers[i]["title"].split())}
            for (qid, _), i in zip(pairs, picked.tolist(), strict=True)))
    return [plain, wordy]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--title-corpus", type=int, default=None, metavar="N",
                        help="abstracts in the title task's corpus (default: all 74,728)")
    args = parser.parse_args()
    for folder in (scifact_verbose(args.out), *arxiv_titles(args.out, corpus=args.title_corpus)):
        print(folder)


if __name__ == "__main__":
    main()
