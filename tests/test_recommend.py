"""The feed's model against a reference: the closed form equals weighted least squares
solved over every row explicitly; uncertainty and "why this paper" on known geometry."""

from __future__ import annotations

import numpy as np
import pytest

from papersift import recommend


def _reference(liked: np.ndarray, disliked: np.ndarray, library: np.ndarray, ridge: float,
               dislike_weight: float) -> tuple[np.ndarray, float]:
    """Weighted ridge regression written out row by row (targets 1 liked, 0 otherwise)."""
    rows = np.vstack([liked, disliked, library])
    per = 1 / max(len(liked), 1)
    weights = np.concatenate([np.full(len(liked), per),
                              np.full(len(disliked), per * dislike_weight),
                              np.full(len(library), 1 / len(library))])
    targets = np.concatenate([np.ones(len(liked)), np.zeros(len(disliked) + len(library))])
    z = np.hstack([rows, np.ones((len(rows), 1))])
    penalty = np.diag([ridge] * rows.shape[1] + [0.0])
    solution = np.linalg.solve(z.T @ (weights[:, None] * z) + penalty,
                               z.T @ (weights * targets))
    return solution[:-1], float(solution[-1])


@pytest.mark.parametrize("rated", [0, 10, 80])  # none; a few (Woodbury); many (solved outright)
def test_the_closed_form_is_weighted_ridge_regression(rated: int) -> None:
    rng = np.random.default_rng(3)
    library = recommend.unit(rng.normal(size=(400, 24)))
    liked, disliked = library[:rated] + 0.3, library[rated : rated + rated // 3 + 1]
    if rated == 0:
        liked = library[:0]
    model = recommend.train(liked, disliked, recommend.Background.of(library), ridge=0.05,
                            dislike_weight=2.0)
    weights, bias = _reference(liked, disliked, library, 0.05, 2.0)
    assert np.allclose(model.weights, weights, atol=1e-5) and abs(model.bias - bias) < 1e-5
    scores = model.score(library)
    assert np.allclose(scores, library @ weights + bias, atol=1e-4)


def test_liked_directions_score_high_and_disliked_ones_low() -> None:
    rng = np.random.default_rng(5)
    topics = recommend.unit(rng.normal(size=(3, 32)))
    library = recommend.unit(np.vstack([t + 0.6 * rng.normal(size=(300, 32)) / np.sqrt(32)
                                        for t in topics]))
    background = recommend.Background.of(library)
    model = recommend.train(library[:10], library[300:305], background)
    scores = model.score(library)
    assert scores[:300].mean() > scores[600:].mean() > scores[300:600].mean() - 1e-3
    assert model.liked == 10 and model.disliked == 5
    asked = recommend.uncertain(model, library, 5)
    gaps = np.abs(scores - model.threshold)
    assert len(asked) == 5 and set(asked.tolist()) == set(np.argsort(gaps)[:5].tolist())
    near = recommend.closest(library[[0, 650]], library[[1, 2, 610]], k=2)
    assert near.shape == (2, 2) and near[1, 0] == 2 and set(near[0].tolist()) == {0, 1}


def test_no_liked_papers_and_empty_inputs() -> None:
    library = recommend.unit(np.eye(4))
    model = recommend.train(np.empty((0, 4)), np.empty((0, 4)), recommend.Background.of(library))
    assert model.score(np.empty((0, 4))).shape == (0,)
    assert recommend.uncertain(model, np.empty((0, 4)), 3).shape == (0,)
    assert recommend.closest(library, np.empty((0, 4))).shape == (4, 0)


def test_texts_are_unit_tfidf_vectors_without_the_rarest_and_commonest_terms() -> None:
    documents = [recommend.with_pairs(d) for d in
                 (["gauss", "splat", "splat", "avatar"], ["gauss", "robot"], ["robot"],
                  *[["filler"]] * 27)]
    assert documents[0][4:] == ["gauss splat", "splat splat", "splat avatar"]
    # "robot" is in more than 10% of the library's papers, "avatar" in only one: left out;
    # the pairs are counted in these 30 papers and scaled to the library's 100 (3 each)
    frequencies = {"gauss": 4, "splat": 2, "avatar": 1, "robot": 60, "filler": 12}
    texts = recommend.Texts.of(documents, frequencies, 100)
    assert "robot" not in texts.vocabulary and "avatar" not in texts.vocabulary
    assert "gauss splat" in texts.vocabulary

    def idf(df: float) -> float:
        return 1 + np.log(101 / (df + 1))

    first = {"gauss": idf(4), "splat": (1 + np.log(2)) * idf(2), "gauss splat": idf(3),
             "splat splat": idf(3), "splat avatar": idf(3)}
    norm = np.sqrt(sum(w * w for w in first.values()))
    # the first paper against all three: itself 1; the second shares only "gauss"
    second = {"gauss": idf(4), "gauss robot": idf(3)}
    shared = first["gauss"] * second["gauss"] / norm / np.sqrt(sum(w * w for w in
                                                                 second.values()))
    assert np.allclose(texts.similarities(documents[:1])[0, :3], [1.0, shared, 0.0], atol=1e-5)
    encoded = texts.encode(documents[:2])  # kept by the feed for a person's papers
    assert np.allclose(texts.similarities(encoded), texts.similarities(documents[:2]))
    assert np.allclose(texts.similarities([[]]), 0) and texts.similarities([]).shape == (0, 30)


def test_word_scores_favour_each_liked_topic_and_not_the_generic_or_disliked() -> None:
    rng = np.random.default_rng(2)
    common = [f"common{i}" for i in range(5)]
    topics = [[f"t{t}w{i}" for i in range(8)] for t in range(4)]

    def paper(topic: int) -> list[str]:
        return recommend.with_pairs([*rng.choice(topics[topic], 6).tolist(),
                                     *rng.choice(common, 4).tolist()])

    library = [paper(i % 4) for i in range(80)]
    frequencies = {t: 20 for words in topics for t in words} | {t: 9 for t in common}
    texts = recommend.Texts.of(library, frequencies, 1000)
    liked = [paper(0), paper(0), paper(0), paper(1)]  # mostly topic 0, once topic 1
    scores = recommend.word_scores(texts, liked)
    by_topic = [scores[t::4].mean() for t in range(4)]
    assert by_topic[0] > by_topic[1] > max(by_topic[2:])
    # with the nearest liked paper counting, the minor topic gains on the major one
    plain = recommend.word_scores(texts, liked, nearest=0.0)

    def gap(values: np.ndarray) -> float:
        return float((values[0::4].mean() - values[1::4].mean()) / values.std())

    assert gap(scores) < gap(plain)
    # a disliked paper of topic 1 pushes that topic down
    against = recommend.word_scores(texts, liked, [paper(1), paper(1)], disliked_weight=1.0)
    assert against[1::4].mean() < by_topic[1]
    assert not recommend.word_scores(texts, []).any()


def test_fuse_adds_z_scores() -> None:
    words, dense = np.array([1.0, 2.0, 3.0]), np.array([10.0, 10.0, 40.0])
    fused = recommend.fuse(words, dense, dense_weight=0.5)
    expected = (words - 2) / words.std() + 0.5 * (dense - 20) / dense.std()
    assert np.allclose(fused, expected, atol=1e-6)
    assert np.allclose(recommend.fuse(words, np.zeros(3)), (words - 2) / words.std())
