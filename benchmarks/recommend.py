"""The personal feed, evaluated offline on the 75k arXiv sample with simulated users, and timed.

    python benchmarks/recommend.py [--users 400] [--library /tmp/papersift-bench-75k]

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
of the feed's nDCG@10. With ``--library`` it also times the feed at 75k papers: retraining
and scoring about 1,000 papers, the library call, and the personal feed page.
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


@dataclass
class Feed:
    """papersift's feed as the library runs it: the library's vectors summarised once,
    one model per user from their ratings."""

    corpus: Corpus
    split: Split
    background: recommend.Background
    ridge: float = recommend.RIDGE
    dislike_weight: float = recommend.DISLIKE_WEIGHT

    def model(self, liked: np.ndarray, disliked: np.ndarray) -> recommend.Model:
        v = self.corpus.vectors
        return recommend.train(v[liked], v[disliked], self.background, ridge=self.ridge,
                               dislike_weight=self.dislike_weight)

    def rank(self, user: User, disliked: Sequence[int] = ()) -> np.ndarray:
        model = self.model(user.rated, np.asarray(disliked, dtype=np.int64))
        return model.score(self.corpus.vectors[self.split.pool])

    def asked(self, user: User, liked: np.ndarray, yes: set[int], n: int = 10,
              disliked: Sequence[int] = ()) -> tuple[list[int], list[int]]:
        """One active-learning round over the papers before the cut-off: the ``n`` the
        model is least sure of, answered yes for rows in ``yes``."""
        model = self.model(liked, np.asarray(disliked, dtype=np.int64))
        pool = np.setdiff1d(self.split.before, np.concatenate([liked, list(disliked)]))
        picked = pool[recommend.uncertain(model, self.corpus.vectors[pool], n)]
        return ([int(r) for r in picked if int(r) in yes],
                [int(r) for r in picked if int(r) not in yes])

    def with_round(self, user: User) -> np.ndarray:
        liked, disliked = self.asked(user, user.rated, set(user.rated.tolist()))
        model = self.model(np.concatenate([user.rated, liked]).astype(np.int64),
                           np.asarray(disliked, dtype=np.int64))
        return model.score(self.corpus.vectors[self.split.pool])


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
    """nDCG@10 on the tuning users over a small grid; the feed keeps the best."""
    grid = []
    for ridge in (0.005, 0.02, 0.05, 0.1, 0.3):
        feed.ridge = ridge
        grid.append((ridge, feed.dislike_weight, evaluate(users, feed.rank)[1]))
    best = max(grid, key=lambda g: g[2])
    feed.ridge = best[0]
    return grid


def learning_curve(feed: Feed, users: list[User], ks: Sequence[int]) -> list[tuple[int, float,
                                                                                   float]]:
    """nDCG@10 with each user's first k ratings, without and with one question round."""
    curve = []
    for k in ks:
        plain, asked = [], []
        for user in users:
            seeds = user.rated[:k]
            scores = feed.model(seeds, np.empty(0, np.int64)).score(
                feed.corpus.vectors[feed.split.pool])
            plain.append(metrics(scores, user.relevant)[1])
            liked, disliked = feed.asked(user, seeds, set(user.rated.tolist()))
            model = feed.model(np.concatenate([seeds, liked]).astype(np.int64),
                               np.asarray(disliked, dtype=np.int64))
            asked.append(metrics(model.score(feed.corpus.vectors[feed.split.pool]),
                                 user.relevant)[1])
        curve.append((k, float(np.mean(plain)), float(np.mean(asked))))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoff", default="2026-05-01")
    parser.add_argument("--users", type=int, default=400, help="test users")
    parser.add_argument("--tuning-users", type=int, default=150)
    parser.add_argument("--library", type=Path, help="a 75k library, to time the feed")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" /
                        "recommend.md")
    args = parser.parse_args()
    started = time.perf_counter()
    corpus = load()
    split = simulated_users(corpus, args.cutoff, args.tuning_users, args.users)
    feed = Feed(corpus, split, recommend.Background.of(corpus.vectors))
    grid = tune(feed, split.tuning)
    methods: list[tuple[str, Method]] = [
        ("recent (newest first)", recent(corpus, split)),
        ("popular (most prolific authors first)", popular(corpus, split)),
        ("similar to the latest saved", similar_to_latest(corpus, split)),
        ("arxiv-sanity: LinearSVC on tf-idf", tfidf_svm(corpus, split)),
        ("papersift feed", feed.rank),
        ("papersift feed + one active-learning round", feed.with_round),
    ]
    rows = [(name, *evaluate(split.test, method)) for name, method in methods]
    print(rows, grid)
    lines = report_lines(args, corpus, split, rows, grid, started)
    publish("\n".join(lines) + "\n", args.out)


def report_lines(args: argparse.Namespace, corpus: Corpus, split: Split,
                 rows: list[tuple[str, float, float, float, float]],
                 grid: list[tuple[float, float, float]], started: float) -> list[str]:
    users = split.test
    lines = [
        "# Personal feed: offline evaluation with simulated users",
        "",
        f"- command: `python benchmarks/recommend.py --users {args.users}`",
        f"- data: {len(corpus.ids):,} arXiv papers, cut-off {args.cutoff}: "
        f"{len(split.before):,} papers before, a pool of {len(split.pool):,} after",
        f"- users: {len(users)} test users (authors with >= 6 papers on both sides), "
        f"{statistics.mean(len(u.rated) for u in users):.1f} ratings and "
        f"{statistics.mean(len(u.relevant) for u in users):.1f} papers to find on average; "
        f"{len(split.tuning)} other users for tuning",
        f"- machine: {machine()}",
        "",
        "| method | precision@10 | nDCG@10 | recall@50 | ms per user |",
        "|---|---:|---:|---:|---:|",
        *[f"| {n} | {p:.4f} | {d:.4f} | {r:.4f} | {ms:.1f} |" for n, p, d, r, ms in rows],
        "",
        "Tuning (nDCG@10 on the tuning users): "
        + ", ".join(f"ridge {r} -> {s:.4f}" for r, _, s in grid),
        f"Total time: {time.perf_counter() - started:.0f} s",
    ]
    return lines


if __name__ == "__main__":
    main()
