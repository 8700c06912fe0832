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


def test_term_weights_are_bm25_and_profiles_weigh_rare_shared_words() -> None:
    documents = [["gauss", "splat", "splat", "avatar"], ["gauss", "robot"], ["robot"]]
    frequencies = {"gauss": 40, "splat": 2, "avatar": 5, "robot": 60}
    matrix = recommend.TermMatrix.of(documents, frequencies, 100)
    average = (4 + 2 + 1) / 3

    def bm25(term: str, tf: int, length: int) -> float:
        idf = np.log1p((100 - frequencies[term] + 0.5) / (frequencies[term] + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))

    scores = matrix.score({"splat": 1.0, "robot": 0.5, "unknown": 9.0})
    assert np.allclose(scores, [bm25("splat", 2, 4), 0.5 * bm25("robot", 1, 2),
                                0.5 * bm25("robot", 1, 1)], rtol=1e-5)
    profile = recommend.term_profile(documents[:2], frequencies, 100, top=3)
    # each paper's words weigh by tf-idf within it; a word both papers use adds up
    assert list(profile) == ["gauss", "splat", "robot"] and profile["gauss"] == 1.0
    assert 0.85 < profile["splat"] < 0.9
