"""Cluster labels: each cluster's most distinctive terms by class-based TF-IDF.

All the titles and abstracts of a cluster are one document (a *class*); a term's weight in
a class is its frequency there times how rare it is across classes (as BERTopic does)::

    w(t, c) = tf(t, c) / |c| * log(1 + A / f(t))

with ``tf`` the square root of the count (damping words every abstract repeats), ``|c|``
the class's total, ``A`` the mean term count per class and ``f(t)`` the
term's total over all classes. Terms are words and two-word phrases (adjacent words, not
across punctuation) after LaTeX, numbers and stop words (English ones and the boilerplate
of abstracts: "propose", "results", ...) are removed, so "gaussian splatting" can be a
label and "we propose a novel" cannot; generic words ("models") label only inside phrases.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from papersift.atlas import EXTRA_HINT

__all__ = [
    "BOILERPLATE", "GENERIC", "TermMatrix", "analyzer", "clean_text", "distinct_leads",
    "distinctive_terms", "label", "term_matrix",
]

#: Formatting commands whose argument is ordinary text: ``\\textbf{Adam}`` -> ``Adam``.
_KEEP_ARGUMENT = re.compile(r"\\(?:text(?:bf|it|tt|rm|sc|sf)?|emph|underline|mbox)\{([^{}]*)\}")
_LATEX = re.compile(
    r"\$\$.*?\$\$|\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]"  # inline and display math
    r"|\\[a-zA-Z]+\*?(?:\[[^\]]*\])?(?:\{[^{}]*\})?"   # \commands with one argument
    r"|[{}^_~]",
    re.DOTALL,
)
_URL = re.compile(r"https?://\S+|www\.\S+")
#: A token has a letter; digits and inner hyphens are kept ("3d", "llama-3", "text-to-image").
TOKEN = r"(?u)\b[a-z0-9][a-z0-9\-]*[a-z][a-z0-9\-]*\b"



def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Words every abstract uses, whatever its field.
BOILERPLATE = _words("""
    paper papers propose proposed proposes proposing present presents presented introduce
    introduces introduced approach approaches method methods methodology result results
    show shows shown showing demonstrate demonstrates demonstrated novel new existing
    work works based using use used uses usage framework frameworks performance performances
    state-of-the-art sota art significant significantly experiment experiments experimental
    extensive extensively achieve achieves achieved achieving outperform outperforms
    outperforming superior effective effectively efficient efficiently improve improves
    improved improving improvement improvements study studies task tasks problem problems
    challenge challenges challenging recent recently various different including include
    includes however furthermore moreover additionally specifically particular particularly
    respectively code available publicly github https com www able key main leverage
    leverages leveraging enable enables enabling provide provides providing address addresses
    addressing remain remains remaining well high highly low large small better best good
    new via across within without while whereas although despite given make makes making
    mainly overall finally first second third one two three several many much often
    typically usually widely evaluate evaluated evaluation evaluations benchmark benchmarks
    dataset datasets analyze analyzes compared compare
    comparison comparable baseline baselines consistent consistently substantial
    substantially robust accuracy accurate prior
    previous current future potential potentially critical crucial important importance
    limited limitation limitations need needs require requires required existing aim aims
    focus focuses focused terms way ways lead leads leading strong stronger strongest
    """)


def clean_text(text: str) -> str:
    """Lower-cased text without LaTeX (math, commands, braces) or URLs."""
    text = _KEEP_ARGUMENT.sub(r" \1 ", _URL.sub(" ", text))
    return _LATEX.sub(" ", text).lower()


#: Words that make a label only as part of a phrase ("language models", not "models").
GENERIC = _words("""
    model models modelling learning data network networks system systems training trained
    information tasks generation language image images visual video text deep neural
    based learn learned features feature representation representations quality
    """)
_TOKEN = re.compile(TOKEN)
#: Phrases never span punctuation or a parenthesis: "(LLMs) for" makes no "models llms".
_SEGMENT = re.compile(r"[.,;:!?()\[\]\"]|\s[-–]\s")


def _stop_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS) | BOILERPLATE


def analyzer(stop: frozenset[str]) -> Callable[[str], list[str]]:
    """Words and two-word phrases of a text: a phrase is two words next to each other,
    neither a stop word, with no punctuation between them."""

    def terms(text: str) -> list[str]:
        out: list[str] = []
        for segment in _SEGMENT.split(clean_text(text)):
            previous = None
            for token in _TOKEN.findall(segment):
                if token in stop:
                    previous = None
                    continue
                out.append(token)
                if previous is not None:
                    out.append(f"{previous} {token}")
                previous = token
        return out

    return terms


@dataclass(frozen=True)
class TermMatrix:
    """Term counts per document (sparse, ``(documents, terms)``) and the vocabulary."""

    counts: Any
    vocabulary: list[str]


def term_matrix(texts: Sequence[str], *, vocabulary_sample: int = 25_000,
                seed: int = 0) -> TermMatrix:
    """Count the terms of every text, once, for labelling any grouping of them.

    The vocabulary (words and phrases in at least 3 sampled documents) is found on a
    sample: collecting every phrase of 75k abstracts first needs over a GB for phrases that
    are then dropped.
    """
    try:
        from sklearn.feature_extraction.text import CountVectorizer
    except ImportError as error:
        raise ImportError(f"cluster labels need scikit-learn: {EXTRA_HINT}") from error

    analyze = analyzer(_stop_words())
    rng = np.random.default_rng(seed)
    sample = (rng.choice(len(texts), vocabulary_sample, replace=False)
              if len(texts) > vocabulary_sample else np.arange(len(texts)))
    finder = CountVectorizer(analyzer=analyze, min_df=3 if len(sample) >= 300 else 1)
    try:
        finder.fit([texts[i] for i in sample])
    except ValueError:  # no term survives (empty or stop-word-only texts)
        return TermMatrix(None, [])
    counter = CountVectorizer(analyzer=analyze, vocabulary=finder.vocabulary_, dtype=np.int32)
    counts = counter.transform(texts)
    return TermMatrix(counts, list(counter.get_feature_names_out()))


def distinctive_terms(texts: Sequence[str] | TermMatrix, classes: np.ndarray,
                      n_classes: int, *, n_terms: int = 8) -> list[list[str]]:
    """The ``n_terms`` most distinctive terms of each class, best first.

    ``classes[i]`` is the class (0..n_classes-1) of text ``i``; a class without texts gets
    no terms. Pass a :func:`term_matrix` to label several groupings of the same texts.

    Example::

        distinctive_terms(abstracts, topic_of_paper, 100)[7][:3]
        # ['gaussian splatting', '3dgs', '3d gaussian']
    """
    from scipy import sparse

    matrix = texts if isinstance(texts, TermMatrix) else term_matrix(texts)
    if not matrix.vocabulary:
        return [[] for _ in range(n_classes)]
    classes = np.asarray(classes, dtype=np.int64)
    member = sparse.csr_matrix(
        (np.ones(len(classes), np.float32), (classes, np.arange(len(classes)))),
        shape=(n_classes, len(classes)))
    counts = np.sqrt((member @ matrix.counts).toarray().astype(np.float64))
    # sqrt damps the words every abstract repeats (BERTopic's reduce_frequent_words)
    sizes = counts.sum(axis=1, keepdims=True)
    tf = counts / np.maximum(sizes, 1.0)
    mean_size = float(sizes[sizes > 0].mean()) if (sizes > 0).any() else 1.0
    idf = np.log1p(mean_size / np.maximum(counts.sum(axis=0), 1e-12))
    weights = tf * idf[None, :]
    vocabulary = matrix.vocabulary
    out = []
    for row in weights:
        top = np.argsort(row)[::-1][: n_terms * 4]
        ranked = [vocabulary[i] for i in top if row[i] > 0 and vocabulary[i] not in GENERIC]
        out.append(_merge_phrases(ranked)[:n_terms])
    return out


def _merge_phrases(ranked: list[str]) -> list[str]:
    """Fold words into the phrases that hold them, keeping the better rank.

    ``["gaussian", "splatting", "gaussian splatting"]`` becomes ``["gaussian splatting"]``.
    """
    kept: list[str] = []
    for term in ranked:
        words = term.split()
        if len(words) == 1 and any(term in k.split() for k in kept):
            continue
        inside = [k for k in kept if len(k.split()) == 1 and k in words]
        if inside:
            at = kept.index(inside[0])
            kept[at] = term
            kept = [k for i, k in enumerate(kept) if i == at or k not in inside]
            continue
        kept.append(term)
    return list(dict.fromkeys(kept))


def label(terms: Sequence[str], n: int = 3) -> str:
    """A short label from a class's terms: the first ``n``, comma separated."""
    return ", ".join(terms[:n]) if terms else "(no terms)"


def distinct_leads(term_lists: Sequence[Sequence[str]], sizes: Sequence[int],
                   n: int = 2) -> list[list[str]]:
    """Reorder each class's terms so that its first ``n`` are not the lead terms of a larger
    class: areas of one field ("language models" four times) get labels that tell them
    apart. The terms themselves are kept, only their order changes."""
    used: set[str] = set()
    out: list[list[str]] = [list(t) for t in term_lists]
    for c in sorted(range(len(term_lists)), key=lambda c: -sizes[c]):
        terms = list(term_lists[c])
        fresh = [t for t in terms if t not in used]
        lead = (fresh + [t for t in terms if t in used])[:n]
        out[c] = lead + [t for t in terms if t not in lead]
        used.update(lead)
    return out
