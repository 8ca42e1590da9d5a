"""Classification heads on frozen image embeddings: ``fast`` and ``accurate``.

Arrays in, arrays out. Both heads follow the scikit-learn estimator contract: ``__init__`` only
stores parameters, ``fit(X, y)`` returns the head, learned state ends in ``_``,
``predict_proba(X)`` is ``(n, k)`` with columns in ``classes_``. Unlabeled images are marked
``-1`` in ``y`` (as in ``sklearn.semi_supervised``).

Public API::

    make_head(algorithm: str, **options) -> FastHead | AccurateHead
        algorithm "fast": logistic head on the labeled images only;
        "accurate": also learns from the unlabeled images (transductive normalisation,
        kNN label propagation, class-balanced self-training).
    average_views(X, X_flip) -> ndarray         # flip test-time augmentation of embeddings
    cross_val_proba(head, X, y, *, n_folds=5, random_state=0) -> ndarray  # out-of-fold, labeled
    FastHead, AccurateHead, EmbeddingNormalizer, UNLABELED (= -1), ALGORITHMS

Typical job::

    X = average_views(X_original, X_flipped)          # every image of the job
    head = make_head("accurate").fit(X, y)            # y = class id, or -1 when unlabeled
    proba = head.predict_proba(X[y == -1])

Measured choices and figures: BENCHMARKS.md, "Classification smart labeling".
``portable.LinearHead`` reads the inductive part of either fitted head (``normalizer_`` +
``model_``) for saving and ONNX export.
"""

from labelloop.ml.classify._accurate import AccurateHead
from labelloop.ml.classify._cross_val import cross_val_proba
from labelloop.ml.classify._factory import ALGORITHMS, average_views, make_head
from labelloop.ml.classify._fast import FastHead
from labelloop.ml.classify._normalize import EmbeddingNormalizer
from labelloop.ml.classify._validation import UNLABELED

__all__ = [
    "ALGORITHMS",
    "UNLABELED",
    "AccurateHead",
    "EmbeddingNormalizer",
    "FastHead",
    "average_views",
    "cross_val_proba",
    "make_head",
]
