"""Which images to ask a person about next: utilities and selectors."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.ml.query import (
    QueryResult,
    entropy_uncertainty,
    least_confidence,
    margin_uncertainty,
    select_diverse,
    select_next,
    select_top,
)


@pytest.mark.parametrize("measure", [margin_uncertainty, least_confidence, entropy_uncertainty])
def test_utilities_rank_uncertain_above_certain_within_unit_interval(measure):
    proba = np.array([[1.0, 0.0, 0.0], [0.6, 0.3, 0.1], [1 / 3, 1 / 3, 1 / 3]])
    values = measure(proba)
    assert values.shape == (3,)
    assert np.all((values >= 0) & (values <= 1 + 1e-12))
    assert values[0] < values[1] < values[2]
    assert values[0] == pytest.approx(0.0) and values[2] == pytest.approx(1.0)


def test_select_top():
    result = select_top(np.array([0.1, 0.9, 0.5]), n=2)
    assert isinstance(result, QueryResult)
    assert result.indices.tolist() == [1, 2]
    assert result.scores.tolist() == [0.9, 0.5]


def two_groups_of_near_duplicates():
    """Ten nearly identical uncertain images, one other uncertain image elsewhere and
    certain images around: a good batch of two takes one of the ten and the loner."""
    rng = np.random.default_rng(0)
    dim = 16
    duplicates = np.eye(dim)[0] * 5 + rng.normal(size=(10, dim)) * 0.01
    loner = np.eye(dim)[1] * 5
    easy = np.eye(dim)[2:6] * 5
    embeddings = np.vstack([duplicates, loner, easy])
    proba = np.vstack(
        [
            np.tile([0.52, 0.48], (10, 1)),  # the most uncertain, all alike
            [[0.6, 0.4]],  # uncertain, elsewhere
            np.tile([0.99, 0.01], (4, 1)),
        ]
    )
    return proba, embeddings


def test_select_next_picks_diverse_uncertain_images():
    proba, embeddings = two_groups_of_near_duplicates()
    result = select_next(proba, embeddings, n=2, diversity_weight=0.5)
    assert result.indices[0] < 10  # the most uncertain first
    assert result.indices[1] == 10  # then the uncertain image elsewhere, not a near-copy
    assert result.utility.shape == (15,)
    # Pure uncertainty would take two near-copies.
    assert np.all(select_top(margin_uncertainty(proba), n=2).indices < 10)


def test_labeled_images_push_picks_away_from_known_regions():
    proba, embeddings = two_groups_of_near_duplicates()
    labeled = embeddings[:1]  # someone already labeled one of the near-copies
    result = select_next(proba, embeddings, n=1, labeled_embeddings=labeled, diversity_weight=0.7)
    assert result.indices.tolist() == [10]


def test_no_model_yet_means_pure_diversity():
    """Equal utilities (a cold start) still spread the picks over the embedding space."""
    _, embeddings = two_groups_of_near_duplicates()
    proba = np.full((15, 2), 0.5)
    result = select_next(proba, embeddings, n=3)
    assert len(set(result.indices.tolist()) & set(range(10))) <= 1
    assert len(set(result.indices.tolist())) == 3


def test_n_larger_than_the_candidates_returns_all_once():
    proba, embeddings = two_groups_of_near_duplicates()
    result = select_next(proba, embeddings, n=100)
    assert sorted(result.indices.tolist()) == list(range(15))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: select_next(np.ones((3, 2)), np.ones((3, 4)), n=1), "sum to 1"),
        (lambda: select_next(np.full((3, 2), 0.5), np.ones((2, 4)), n=1), "3 rows"),
        (lambda: select_next(np.full((3, 2), 0.5), np.ones(3), n=1), "2-D"),
        (lambda: select_next(np.full((2, 2), 0.5), np.array([[np.nan], [1.0]]), n=1), "NaN"),
        (lambda: select_next(np.full((2, 2), 0.5), np.ones((2, 3)), n=-1), "non-negative"),
        (lambda: select_next(np.full((2, 2), 0.5), np.ones((2, 3)), n=1, utility="x"), "one of"),
        (
            lambda: select_next(
                np.full((2, 2), 0.5), np.ones((2, 3)), n=1, labeled_embeddings=np.ones((1, 4))
            ),
            "3 columns",
        ),
        (
            lambda: select_diverse(np.ones(2), np.ones((2, 3)), n=1, diversity_weight=2.0),
            "diversity_weight",
        ),
    ],
)
def test_bad_input_raises_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
