"""The personal feed, evaluated offline on the 75k arXiv sample with simulated users, and timed.

    python benchmarks/recommend.py [--users 300] [--library /tmp/papersift-bench-75k]
    flock /tmp/papersift-heavy.lock python benchmarks/recommend.py --timing-only

Simulated users: authors with at least 6 papers in the sample, with papers on both sides of
a cut-off day. An author's papers listed before the cut-off are their ratings (thumbs-up);
the papers listed on or after it are mixed into everything listed on or after it, and a
method ranks that whole pool: a good feed puts the author's own later papers on top.
Every method ranks the same pool for the same users, in one run:

- recent: the newest papers first (the daily listing; no votes exist in the sample);
- popular: papers by the most prolific authors first (a stand-in for trending);
- similar to the latest saved: cosine to the author's most recent rated paper;
- arxiv-sanity: a linear SVM on tf-idf of title and abstract, as arxiv-sanity-lite trains it
  (LinearSVC C=0.01, balanced classes, every other paper a negative);
- papersift's feed (``papersift.recommend``) over the precomputed MiniLM vectors, and the
  same after one active-learning round (10 questions, answered "yes" for the author's own
  papers, "no" otherwise).

Precision@10, nDCG@10 and recall@50 are averaged over the users; model settings were chosen
on separate tuning users. A learning curve gives the ratings a new user needs to reach 80%
of the feed's nDCG@10. ``--timing-only`` times the feed at 75k papers instead (retraining
and scoring about 1,000 papers through the library, and the personal feed page), written
to ``benchmarks/results/recommend-timing.md``; it is short, to run under the machine-wide
lock.
Vectors: ../shared/data/arxiv-75k-minilm.f16.npy (+ .ids.npy); nothing is embedded.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, SAMPLE, machine, publish
from papersift import recommend

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Corpus:
    """The sample: texts, authors, listing days and vectors, in file order."""

    ids: list[str]
    texts: list[str]
    authors: list[list[str]]
    days: np.ndarray  # datetime64[D]
    vectors: np.ndarray  # float32, unit rows


def load() -> Corpus:
    ids, texts, authors, days = [], [], [], []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            ids.append(row["id"])
            texts.append(f"{row['title']} {row['abstract']}")
            authors.append(row["authors"])
            days.append(row["listing_date"])
    vector_ids = np.load(DATA / "arxiv-75k-minilm.ids.npy")
    if [str(i) for i in vector_ids] != ids:
        raise SystemExit("the vectors' ids do not match arxiv-75k.jsonl.gz row for row")
    vectors = np.load(DATA / "arxiv-75k-minilm.f16.npy").astype(np.float32)
    return Corpus(ids, texts, authors, np.array(days, dtype="datetime64[D]"), vectors)


@dataclass
class User:
    name: str
    rated: np.ndarray  # rows of the corpus, oldest first
    relevant: np.ndarray  # rows in the pool (positions into Split.pool)


@dataclass
class Split:
    cutoff: np.datetime64
    pool: np.ndarray  # corpus rows listed on or after the cut-off
    before: np.ndarray  # corpus rows listed before it
    tuning: list[User] = field(default_factory=list)
    test: list[User] = field(default_factory=list)


def simulated_users(corpus: Corpus, cutoff: str, n_tuning: int, n_test: int,
                    seed: int = 7) -> Split:
    """Authors with >= 6 papers and papers on both sides of the cut-off, shuffled."""
    cut = np.datetime64(cutoff)
    pool = np.flatnonzero(corpus.days >= cut)
    where = np.full(len(corpus.ids), -1)
    where[pool] = np.arange(len(pool))
    papers: dict[str, list[int]] = defaultdict(list)
    for row, names in enumerate(corpus.authors):
        for name in dict.fromkeys(names):
            papers[name].append(row)
    users = []
    for name, rows in sorted(papers.items()):
        if len(rows) < 6:
            continue
        rows_arr = np.array(rows)
        before = rows_arr[corpus.days[rows_arr] < cut]
        after = rows_arr[corpus.days[rows_arr] >= cut]
        if len(before) and len(after):
            order = np.argsort(corpus.days[before], kind="stable")
            users.append(User(name, before[order], where[after]))
    rng = np.random.default_rng(seed)
    rng.shuffle(users)  # type: ignore[arg-type]
    return Split(cut, pool, np.flatnonzero(corpus.days < cut), users[:n_tuning],
                 users[n_tuning : n_tuning + n_test])


# -- metrics ----------------------------------------------------------------------------
def metrics(scores: np.ndarray, relevant: np.ndarray) -> tuple[float, float, float]:
    """precision@10, nDCG@10 and recall@50 of a ranking by ``scores`` (higher first)."""
    top = np.argpartition(-scores, 49)[:50]
    top = top[np.argsort(-scores[top], kind="stable")]
    hits = np.isin(top, relevant)
    gains = hits[:10] / np.log2(np.arange(2, 12))
    ideal = (1 / np.log2(np.arange(2, 2 + min(len(relevant), 10)))).sum()
    return float(hits[:10].mean()), float(gains.sum() / ideal), float(hits.sum() / len(relevant))


# -- methods: each returns scores over the pool for one user ----------------------------
Method = Callable[[User], np.ndarray]


def recent(corpus: Corpus, split: Split) -> Method:
    days = corpus.days[split.pool].astype(np.int64).astype(np.float64)
    scores = days + np.linspace(0, 0.5, len(days))  # a day's papers in listing order
    return lambda user: scores


def popular(corpus: Corpus, split: Split) -> Method:
    counts: dict[str, int] = defaultdict(int)
    for row in split.before:
        for name in corpus.authors[row]:
            counts[name] += 1
    scores = np.array([max((counts[n] for n in corpus.authors[row]), default=0)
                       for row in split.pool], dtype=np.float64)
    return lambda user: scores


def similar_to_latest(corpus: Corpus, split: Split) -> Method:
    pool = corpus.vectors[split.pool]
    return lambda user: pool @ corpus.vectors[user.rated[-1]]


def tfidf_svm(corpus: Corpus, split: Split) -> Method:
    """arxiv-sanity-lite's recommender: tf-idf features, one LinearSVC per user over every
    paper (the rated ones positive, all others negative), scored on the pool."""
    from sklearn import svm
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(  # arxiv-sanity-lite compute.py's settings
        input="content", encoding="utf-8", decode_error="replace", strip_accents="unicode",
        lowercase=True, analyzer="word", stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b", ngram_range=(1, 2),
        max_features=20000, norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=True,
        max_df=0.10, min_df=5)
    features = vectorizer.fit_transform(corpus.texts)
    pool = features[split.pool]

    def rank(user: User) -> np.ndarray:
        y = np.zeros(features.shape[0])
        y[user.rated] = 1
        clf = svm.LinearSVC(class_weight="balanced", max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(features, y)
        return np.asarray(clf.decision_function(pool))

    return rank


class Feed:
    """papersift's feed exactly as the library computes it (``papersift.personal_feed``):
    the linear model over the vectors, against a 20,000-paper sample of the library, fused
    with the person's words (the library's terms and term pairs as tf-idf over the pool's
    papers, :class:`recommend.Texts`, scored by :func:`recommend.word_scores`)."""

    def __init__(self, corpus: Corpus, split: Split, library: Any) -> None:
        from papersift.personal_feed import FeedCache

        self.corpus, self.split, self.library = corpus, split, library
        found = library.store.keys_of(corpus.ids)
        self.keys = np.array([found[i] for i in corpus.ids], dtype=np.int64)
        self.pool_keys = self.keys[split.pool]
        self.pool = corpus.vectors[split.pool]
        listed, self.texts = FeedCache().terms(
            library.store, library.lexical, split.cutoff.astype(object),
            library.store.latest_day())
        where = {k: i for i, k in enumerate(listed.tolist())}
        self.matrix_rows = np.array([where[k] for k in self.pool_keys.tolist()])
        sample = np.sort(np.random.default_rng(7).choice(len(corpus.ids), FeedCache().size,
                                                         replace=False))
        self.background = recommend.Background.of(corpus.vectors[sample])
        self.ridge = recommend.RIDGE
        self.dense_weight = recommend.DENSE_WEIGHT
        self.nearest = recommend.NEAREST
        self._terms: dict[int, list[str]] = {}

    def dense(self, liked: np.ndarray, disliked: Sequence[int] = ()) -> recommend.Model:
        v = self.corpus.vectors
        return recommend.train(v[liked], v[np.asarray(disliked, dtype=np.int64)],
                               self.background, ridge=self.ridge)

    def terms(self, rows: Sequence[int]) -> list[list[str]]:
        """Papers' terms with pairs, as the library reads them (cached per paper)."""
        from papersift.personal_feed import words

        missing = [int(r) for r in rows if int(r) not in self._terms]
        for row in missing:
            self._terms[row] = words(self.library.store, self.library.lexical,
                                     self.keys[[row]])[0]
        return [self._terms[int(r)] for r in rows]

    def words(self, liked: np.ndarray, disliked: Sequence[int] = ()) -> np.ndarray:
        """The word scores of the pool for these liked (and disliked) papers."""
        from papersift.personal_feed import PROFILE_PAPERS

        recent = liked[::-1][:PROFILE_PAPERS]  # the feed reads the most recent ones
        return recommend.word_scores(self.texts, self.terms(recent),
                                     self.terms(list(disliked)[:PROFILE_PAPERS]),
                                     nearest=self.nearest)[self.matrix_rows]

    def scores(self, liked: np.ndarray, disliked: Sequence[int] = ()) -> np.ndarray:
        dense = self.dense(liked, disliked).score(self.pool)
        return recommend.fuse(self.words(liked, disliked), dense,
                              dense_weight=self.dense_weight)

    def rank(self, user: User) -> np.ndarray:
        return self.scores(user.rated)

    def asked(self, liked: np.ndarray, yes: set[int], n: int = 10) -> tuple[list[int], list[int]]:
        """One active-learning round over the papers before the cut-off: the ``n`` the
        linear model is least sure of, answered yes for rows in ``yes``."""
        pool = np.setdiff1d(self.split.before, liked)
        model = self.dense(liked)
        picked = pool[recommend.uncertain(model, self.corpus.vectors[pool], n)]
        return ([int(r) for r in picked if int(r) in yes],
                [int(r) for r in picked if int(r) not in yes])

    def with_round(self, user: User) -> np.ndarray:
        liked, disliked = self.asked(user.rated, set(user.rated.tolist()))
        return self.scores(np.concatenate([user.rated, liked]).astype(np.int64), disliked)


def evaluate(users: list[User], method: Method) -> tuple[float, float, float, float]:
    """Mean precision@10, nDCG@10, recall@50 and ms per user."""
    rows = []
    start = time.perf_counter()
    for user in users:
        rows.append(metrics(method(user), user.relevant))
    elapsed = (time.perf_counter() - start) * 1000 / max(len(users), 1)
    p, n, r = (float(np.mean(c)) for c in zip(*rows, strict=True))
    return p, n, r, elapsed


def tune(feed: Feed, users: list[User]) -> list[tuple[float, float, float]]:
    """nDCG@10 on the tuning users over a small grid (the nearest liked paper's weight
    in the words score, the embedding model's weight); the feed keeps the best."""
    grid = []
    for nearest in (0.0, 0.25, 0.5):
        for weight in (0.5, 1.0, 1.5):
            feed.nearest, feed.dense_weight = nearest, weight
            grid.append((nearest, weight, evaluate(users, feed.rank)[1]))
    best = max(grid, key=lambda g: g[2])
    feed.nearest, feed.dense_weight = best[0], best[1]
    return grid


def learning_curve(feed: Feed, users: list[User], ks: Sequence[int]
                   ) -> list[tuple[int, float, float]]:
    """nDCG@10 with each user's first k ratings, without and with one question round
    (whose "yes" answers are the user's other papers before the cut-off)."""
    curve = []
    for k in ks:
        plain, asked = [], []
        for user in users:
            seeds = user.rated[:k]
            plain.append(metrics(feed.scores(seeds), user.relevant)[1])
            liked, disliked = feed.asked(seeds, set(user.rated.tolist()))
            more = np.concatenate([seeds, liked]).astype(np.int64)
            asked.append(metrics(feed.scores(more, disliked), user.relevant)[1])
        curve.append((k, float(np.mean(plain)), float(np.mean(asked))))
    return curve


_TASK: tuple[Method, list[User]] | None = None  # what forked workers inherit


def _worker(index: int) -> tuple[float, float, float]:
    assert _TASK is not None
    method, users = _TASK
    return metrics(method(users[index]), users[index].relevant)


def evaluate_parallel(users: list[User], method: Method, workers: int
                      ) -> tuple[float, float, float, float]:
    """:func:`evaluate` in ``workers`` forked processes (for the slow tf-idf SVM)."""
    import multiprocessing

    global _TASK
    _TASK = (method, users)
    start = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        rows = pool.map(_worker, range(len(users)), chunksize=2)
    elapsed = (time.perf_counter() - start) * 1000 * workers / max(len(users), 1)
    p, n, r = (float(np.mean(c)) for c in zip(*rows, strict=True))
    return p, n, r, elapsed


# -- timing at 75k papers ---------------------------------------------------------------
def open_library(path: Path) -> Any:
    """The 75k library (ingested and given the shared vectors on first use)."""
    from papersift.library import Library

    library = Library(path)
    if len(library) < 70_000:
        print(f"building {path}: ingest and vector import (a few minutes, once)", flush=True)
        library.ingest([str(SAMPLE)])
        library.import_vectors(DATA / "arxiv-75k-minilm.f16.npy", encoder="minilm-l6-int8")
    return library


def day_range(library: Any, papers: int = 1000) -> tuple[Any, Any]:
    """The last listing days that together hold about ``papers`` papers."""
    from datetime import timedelta

    until = library.store.latest_day()
    since = until
    while library.store.count_between(since, until) < papers:
        since -= timedelta(days=1)
    return since, until


def p50(samples: list[float]) -> float:
    return float(statistics.median(samples))


def timings(library: Any, corpus: Corpus, user: User, runs: int = 60) -> list[str]:
    """Feed latency at 75k papers: the library call, with the word profile cached and made
    anew (a new rating each time), and the feed page as the server renders it."""
    from fastapi.testclient import TestClient

    from papersift.accounts import start_session
    from papersift.web import WebSettings, create_app
    from papersift.web.auth import SESSION_COOKIE, session_cookie_value

    member = library.add_user("bench@example.org")
    for row in user.rated:
        library.rate(member, corpus.ids[row], 1)
    since, until = day_range(library)
    count = library.store.count_between(since, until)
    library.personal_feed(member, since=since, until=until)  # the background, once
    warm = []
    for _ in range(runs):
        start = time.perf_counter()
        library.personal_feed(member, since=since, until=until)
        warm.append((time.perf_counter() - start) * 1000)
    fresh = []
    others = [corpus.ids[r] for r in np.random.default_rng(3).choice(len(corpus.ids), runs,
                                                                      replace=False)]
    for other in others:
        library.rate(member, other, 1)  # one more liked paper each time: nothing cached
        start = time.perf_counter()
        library.personal_feed(member, since=since, until=until)
        fresh.append((time.perf_counter() - start) * 1000)
    secret = "s" * 40
    client = TestClient(create_app(library, settings=WebSettings(secret=secret)))
    session = start_session(library.users_store, member, days=1)
    client.cookies.set(SESSION_COOKIE, session_cookie_value(secret.encode(), session.secret))
    for other in others:
        library.rate(member, other, 0)
    url = f"/feed?since={since}&until={until}"
    pages = []
    for i in range(runs + 10):
        response = client.get(url)
        assert response.status_code == 200, response.status_code
        if i >= 10:
            pages.append(float(response.headers["server-timing"].split("dur=")[1]))
    library.remove_user("bench@example.org")
    return [
        f"Timing at {len(library):,} papers, a member with {len(user.rated)} liked papers, "
        f"ranking the {count:,} papers listed {since} .. {until} (p50 of {runs} runs):",
        "",
        "| what | p50 ms | p90 ms |",
        "|---|---:|---:|",
        f"| feed: retrain + score {count:,} papers + top 20 (word profile cached) | "
        f"{p50(warm):.1f} | {np.percentile(warm, 90):.1f} |",
        f"| feed after each new rating ({len(user.rated) + 1} to {len(user.rated) + runs} "
        f"liked; their words read and encoded anew) | {p50(fresh):.1f} | "
        f"{np.percentile(fresh, 90):.1f} |",
        f"| personal feed page `/feed` (Server-Timing, 5 questions included) | "
        f"{p50(pages):.1f} | {np.percentile(pages, 90):.1f} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoff", default="2026-05-01")
    parser.add_argument("--users", type=int, default=400, help="test users")
    parser.add_argument("--tuning-users", type=int, default=150)
    parser.add_argument("--library", type=Path, default=Path("/tmp/papersift-bench-75k"),
                        help="the 75k library (built here on first use)")
    parser.add_argument("--workers", type=int, default=2, help="processes for the tf-idf SVM")
    parser.add_argument("--timing-only", action="store_true",
                        help="only time the feed at 75k papers (under the heavy lock)")
    parser.add_argument("--out", type=Path, help="default: benchmarks/results/recommend.md, "
                        "or recommend-timing.md with --timing-only")
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = load()
    split = simulated_users(corpus, args.cutoff, args.tuning_users, args.users)
    library = open_library(args.library)
    results = REPO / "benchmarks" / "results"
    if args.timing_only:
        user = max(split.test, key=lambda u: len(u.rated) if len(u.rated) <= 30 else 0)
        lines = ["# Personal feed: time at 75k papers", "",
                 "- command: `flock /tmp/papersift-heavy.lock python benchmarks/recommend.py "
                 "--timing-only`", f"- machine: {machine()}", "", *timings(library, corpus,
                                                                          user)]
        publish("\n".join(lines) + "\n", args.out or results / "recommend-timing.md")
        return
    feed = Feed(corpus, split, library)
    grid = tune(feed, split.tuning)
    print(f"tuned: nearest {feed.nearest}, dense weight {feed.dense_weight}", flush=True)
    rows = []
    for name, method in [("recent (newest first)", recent(corpus, split)),
                         ("popular (most prolific authors first)", popular(corpus, split)),
                         ("similar to the latest saved", similar_to_latest(corpus, split))]:
        rows.append((name, *evaluate(split.test, method)))
    rows.append(("arxiv-sanity: LinearSVC on tf-idf",
                 *evaluate_parallel(split.test, tfidf_svm(corpus, split), args.workers)))
    print(rows[-1], flush=True)
    rows += [("papersift feed", *evaluate(split.test, feed.rank)),
             ("papersift feed + one active-learning round", *evaluate(split.test,
                                                                       feed.with_round))]
    parts = feed_parts(feed, split.test)
    veterans = [u for u in split.test if len(u.rated) >= 8]
    curve = learning_curve(feed, veterans, (1, 2, 3, 5, 8))
    full = evaluate(veterans, feed.rank)[1]
    lines = report_lines(args, corpus, split, rows, grid, parts, curve, full, len(veterans),
                         started)
    publish("\n".join(lines) + "\n", args.out or results / "recommend.md")


def feed_parts(feed: Feed, users: list[User]) -> list[tuple[str, float]]:
    """nDCG@10 of the feed's two halves alone (what each brings)."""
    words = evaluate(users, lambda u: feed.words(u.rated))[1]
    dense = evaluate(users, lambda u: feed.dense(u.rated).score(feed.pool))[1]
    return [("the person's words alone (tf-idf of terms and pairs, Rocchio + nearest)", words),
            ("the linear model over embeddings alone", dense)]


def report_lines(args: argparse.Namespace, corpus: Corpus, split: Split,
                 rows: list[tuple[str, float, float, float, float]],
                 grid: list[tuple[float, float, float]], parts: list[tuple[str, float]],
                 curve: list[tuple[int, float, float]], full: float, veterans: int,
                 started: float) -> list[str]:
    users = split.test
    target = 0.8 * full
    needed = next((k for k, plain, _ in curve if plain >= target), None)
    asked = next((k for k, _, more in curve if more >= target), None)
    best_baseline = max(r[2] for r in rows[:4])
    feed_ndcg = rows[4][2]
    return [
        "# Personal feed: offline evaluation with simulated users",
        "",
        f"- command: `python benchmarks/recommend.py --users {args.users} "
        f"--tuning-users {args.tuning_users}`",
        f"- data: {len(corpus.ids):,} arXiv papers with their MiniLM vectors; cut-off "
        f"{args.cutoff}: {len(split.before):,} papers before, a pool of {len(split.pool):,} "
        "on or after",
        f"- users: {len(users)} test users (authors with >= 6 papers, on both sides of the "
        f"cut-off), {statistics.mean(len(u.rated) for u in users):.1f} ratings and "
        f"{statistics.mean(len(u.relevant) for u in users):.1f} later papers to find on "
        f"average; settings chosen on {len(split.tuning)} other users",
        f"- machine: {machine()}",
        "",
        "| method | precision@10 | nDCG@10 | recall@50 | ms per user |",
        "|---|---:|---:|---:|---:|",
        *[f"| {n} | {p:.4f} | {d:.4f} | {r:.4f} | {ms:.1f} |" for n, p, d, r, ms in rows],
        "",
        f"The feed's nDCG@10 is {feed_ndcg / best_baseline:.2f}x the best baseline's "
        f"({'beats' if feed_ndcg > best_baseline else 'does not beat'} all of them).",
        "Its halves alone: " + "; ".join(f"{n} {v:.4f}" for n, v in parts) + ".",
        "",
        f"Ratings a new user needs (the {veterans} test users with >= 8 ratings; their full "
        f"history gives nDCG@10 {full:.4f}, 80% of it is {target:.4f}):",
        "",
        "| ratings | nDCG@10 | + one round of 10 questions |",
        "|---:|---:|---:|",
        *[f"| {k} | {plain:.4f} | {more:.4f} |" for k, plain, more in curve],
        "",
        f"80% is reached with {needed if needed else 'more than 8'} ratings"
        + (f" ({asked} with one round of questions)" if asked else "") + ".",
        "",
        "Tuning grid (nearest liked paper's weight, embedding weight -> nDCG@10 on the "
        "tuning users): "
        + ", ".join(f"({r}, {w}) {s:.4f}" for r, w, s in grid),
        f"Total time: {time.perf_counter() - started:.0f} s",
    ]


if __name__ == "__main__":
    main()
