"""Classification heads: the estimator contract over every head, and what each is for."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from labelloop.ml.classify import (
    ALGORITHMS,
    UNLABELED,
    AccurateHead,
    FastHead,
    average_views,
    cross_val_proba,
    make_head,
)


def blobs(*, n_classes=4, per_class=60, dim=64, spread=1.0, seed=0):
    """Non-negative Gaussian blobs, like pooled CNN embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 3.0
    X = np.concatenate([c + rng.normal(size=(per_class, dim)) * spread for c in centres])
    y = np.repeat(np.arange(n_classes), per_class)
    return np.abs(X) + 0.1, y


def hide_all_but(y, shots, seed=0):
    rng = np.random.default_rng(seed)
    known = np.full_like(y, UNLABELED)
    for label in np.unique(y):
        keep = rng.choice(np.flatnonzero(y == label), shots, replace=False)
        known[keep] = label
    return known


HEADS = [pytest.param(cls, id=name) for name, cls in ALGORITHMS.items()]


# --- the estimator contract, run over every head --------------------------------------------


@pytest.mark.parametrize("head_class", HEADS)
def test_init_only_stores_parameters_and_clone_round_trips(head_class):
    head = head_class()
    params = head.get_params()
    assert params, "every option is a constructor parameter"
    assert not [name for name in vars(head) if name.endswith("_")], "no learned state yet"
    copy = clone(head)
    assert copy.get_params() == params


@pytest.mark.parametrize("head_class", HEADS)
def test_fit_returns_self_and_learns_state_ending_in_underscore(head_class):
    X, y = blobs()
    known = hide_all_but(y, 5)
    head = head_class()
    assert head.fit(X, known) is head
    assert np.array_equal(head.classes_, np.arange(4))
    assert head.n_features_in_ == X.shape[1]


@pytest.mark.parametrize("head_class", HEADS)
def test_predict_proba_shape_rows_and_classes(head_class):
    X, y = blobs()
    known = hide_all_but(y, 5)
    head = head_class().fit(X, known)
    proba = head.predict_proba(X[:7])
    assert proba.shape == (7, 4)
    assert np.allclose(proba.sum(axis=1), 1.0) and np.all(proba >= 0)
    assert np.array_equal(head.predict(X[:7]), head.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize("head_class", HEADS)
def test_arbitrary_class_ids_are_kept(head_class):
    X, y = blobs(n_classes=3)
    ids = np.array([3, 7, 42])[y]
    known = np.where(hide_all_but(y, 5) == UNLABELED, UNLABELED, ids)
    head = head_class().fit(X, known)
    assert np.array_equal(head.classes_, [3, 7, 42])
    assert set(head.predict(X)) <= {3, 7, 42}


@pytest.mark.parametrize("head_class", HEADS)
def test_unfitted_head_refuses_to_predict(head_class):
    with pytest.raises(NotFittedError):
        head_class().predict_proba(np.ones((2, 5)))


@pytest.mark.parametrize("head_class", HEADS)
def test_deterministic(head_class):
    X, y = blobs()
    known = hide_all_but(y, 5)
    first = head_class().fit(X, known).predict_proba(X)
    second = head_class().fit(X, known).predict_proba(X)
    assert np.allclose(first, second)


@pytest.mark.parametrize("head_class", HEADS)
@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.ones(10), np.zeros(10, dtype=int), "2-D"),
        (np.ones((4, 3)), np.array([0, 1, 0]), "4 rows"),
        (np.array([[np.nan, 1.0], [1.0, 1.0], [0.0, 1.0]]), np.array([0, 1, 0]), "NaN"),
        (np.ones((3, 2)), np.array([0, 0, -1]), "at least 2 classes"),
        (np.ones((3, 2)), np.array([-1, -1, -1]), "at least 2 classes"),
        (np.ones((3, 2)), np.array([0, 1, -2]), "negative"),
        (np.ones((3, 2)), np.array([0.5, 1.0, 0.0]), "integer"),
    ],
)
def test_bad_input_raises_a_clear_value_error(head_class, X, y, message):
    with pytest.raises(ValueError, match=message):
        head_class().fit(X, y)


@pytest.mark.parametrize("head_class", HEADS)
def test_predict_checks_the_feature_count(head_class):
    X, y = blobs()
    head = head_class().fit(X, hide_all_but(y, 5))
    with pytest.raises(ValueError, match="features"):
        head.predict_proba(np.ones((2, X.shape[1] + 1)))


# --- what each head is for ------------------------------------------------------------------


def test_fast_head_ignores_unlabeled_images():
    X, y = blobs()
    known = hide_all_but(y, 5)
    labeled = known != UNLABELED
    with_unlabeled = FastHead().fit(X, known).predict_proba(X)
    labeled_only = FastHead().fit(X[labeled], known[labeled]).predict_proba(X)
    assert np.allclose(with_unlabeled, labeled_only)


def noisy_prototypes(*, n_classes=5, per_class=100, dim=200, separation=0.3, seed=0):
    """Gaussian classes whose means differ a little in every dimension while each image's
    noise is large: two labels a class give badly placed prototypes, but a hundred unlabeled
    images a class pin the means down (the case learning from unlabeled images exists for)."""
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(n_classes, dim)) * separation
    X = np.concatenate([m + rng.normal(size=(per_class, dim)) for m in means])
    return X, np.repeat(np.arange(n_classes), per_class)


def unlabeled_accuracy(head, seed):
    X, y = noisy_prototypes(seed=seed)
    known = hide_all_but(y, 2, seed=seed)
    unlabeled = known == UNLABELED
    return np.mean(head.fit(X, known).predict(X[unlabeled]) == y[unlabeled])


def test_accurate_beats_fast_when_the_unlabeled_images_carry_the_structure():
    fast = np.mean([unlabeled_accuracy(FastHead(), seed) for seed in range(3)])
    accurate = np.mean([unlabeled_accuracy(AccurateHead(), seed) for seed in range(3)])
    assert accurate >= fast + 0.15, (fast, accurate)


def test_the_gain_comes_from_the_unlabeled_images():
    """The check above can fail: stripped of graph and self-training, the head is no better."""
    stripped = AccurateHead(propagation_alpha=0, self_training_rounds=0, graph_weight=0)
    fast = np.mean([unlabeled_accuracy(FastHead(), seed) for seed in range(2)])
    plain = np.mean([unlabeled_accuracy(stripped, seed) for seed in range(2)])
    assert plain < fast + 0.05, (fast, plain)


def test_accurate_transduction_covers_every_image():
    X, y = blobs()
    head = AccurateHead().fit(X, hide_all_but(y, 5))
    assert head.transduction_.shape == y.shape
    assert head.label_distributions_.shape == (y.size, 4)


# --- factory, views, cross-validation -------------------------------------------------------


def test_make_head_by_algorithm_name_with_options():
    assert isinstance(make_head("fast"), FastHead)
    assert make_head("accurate", C=3.0).C == 3.0
    with pytest.raises(ValueError, match="algorithm must be one of"):
        make_head("magic")
    with pytest.raises(ValueError, match="unknown option"):
        make_head("fast", n_neighbors=3)


def test_average_views():
    X = np.ones((3, 4))
    assert np.allclose(average_views(X, 3 * X), 2.0)
    assert average_views(X, None) is not None
    with pytest.raises(ValueError, match="shape"):
        average_views(X, np.ones((2, 4)))


@pytest.mark.parametrize("head_class", HEADS)
def test_cross_val_proba_is_out_of_fold(head_class):
    X, y = blobs()
    known = hide_all_but(y, 5)
    oof = cross_val_proba(head_class(), X, known)
    assert oof.shape == (20, 4)
    assert np.allclose(oof.sum(axis=1), 1.0)
    assert np.mean(oof.argmax(axis=1) == known[known != UNLABELED]) > 0.8


def test_cross_val_proba_needs_two_labels_a_class():
    X, y = blobs()
    known = hide_all_but(y, 5)
    known[np.flatnonzero(known == 0)[1:]] = UNLABELED
    with pytest.raises(ValueError, match="at least 2 labeled images in every class"):
        cross_val_proba(FastHead(), X, known)


def test_cached_label_free_part_never_leaks_between_different_images():
    X, y = blobs()
    known = hide_all_but(y, 5)
    first = AccurateHead().fit(X, known)
    again = AccurateHead().fit(X.copy(), known)  # same content: served from the cache
    assert again.normalizer_ is first.normalizer_
    shifted = AccurateHead().fit(X + 1.0, known)  # other content: computed anew
    assert not np.allclose(shifted.normalizer_.mean_, first.normalizer_.mean_)


@pytest.mark.parametrize("head_class", HEADS)
def test_blas_thread_limit_is_checked(head_class):
    X, y = blobs()
    with pytest.raises(ValueError, match="blas_threads"):
        head_class(blas_threads=0).fit(X, hide_all_but(y, 5))
    head_class(blas_threads=None).fit(X, hide_all_but(y, 5))
