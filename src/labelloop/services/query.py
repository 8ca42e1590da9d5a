"""What a person should label next: the open images whose labels would teach the model most.

Uncertainty under the dataset's latest trained model, spread out in embedding space so the
list is not ten near-copies of one confusing image. Before any model exists the ranking is by
diversity alone (a cold start: cover the dataset).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labelloop.domain import Image, ImageState, InvalidInput, TaskType
from labelloop.ml.classify.portable import LinearHead
from labelloop.ml.query import select_next
from labelloop.storage import datasets_repo, images_repo, models_repo

from .context import AppContext
from .features import embed_images, embedded_already

MAX_N = 500
# The ranking runs inside a web request, so its work is bounded whatever the dataset's size:
# it ranks at most POOL_MAX open images (and compares them with at most POOL_MAX labeled ones),
# and embeds at most COMPUTE_MAX images that no job has embedded yet (a few seconds on a laptop
# CPU). Images with cached embeddings come first; the rest are drawn at random, seeded by the
# dataset, so two calls in a row agree. A smart-labeling job embeds everything, after which the
# pool is drawn from all open images.
POOL_MAX = 2000
COMPUTE_MAX = 256


@dataclass(frozen=True)
class Suggestion:
    image: Image
    rank: int
    utility: float
    predicted: str | None
    score: float | None

    def to_dict(self) -> dict:
        return {
            "rank": self.rank,
            "image_id": self.image.id,
            "file": self.image.original_path,
            "state": self.image.state.value,
            "utility": round(self.utility, 4),
            "predicted": self.predicted,
            "score": None if self.score is None else round(self.score, 4),
        }


@dataclass(frozen=True)
class NextToLabel:
    suggestions: list[Suggestion]
    model: str | None  # the model version whose uncertainty ranked them
    ranked_from: int = 0  # open images that were ranked (see POOL_MAX)
    open_images: int = 0  # open images in the dataset

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "items": [s.to_dict() for s in self.suggestions],
            "ranked_from": self.ranked_from,
            "open_images": self.open_images,
        }


def _bounded_pool(
    app: AppContext, images: list[Image], seed: int, budget: list[int]
) -> list[Image]:
    """At most POOL_MAX of ``images``: cached ones first, then up to ``budget[0]`` that need
    embedding (the budget is shared by the calls of one request and spent here)."""
    if len(images) <= POOL_MAX and len(images) <= budget[0]:
        budget[0] -= len(images)
        return images
    rng = np.random.default_rng(seed)
    cached = embedded_already(app, images)
    ready = [img for img in images if img.id in cached]
    waiting = [img for img in images if img.id not in cached]
    if len(ready) > POOL_MAX:
        ready = [ready[i] for i in sorted(rng.choice(len(ready), POOL_MAX, replace=False))]
    room = min(POOL_MAX - len(ready), budget[0], len(waiting))
    extra = [waiting[i] for i in sorted(rng.choice(len(waiting), room, replace=False))]
    budget[0] -= room
    return ready + extra


def next_to_label(app: AppContext, dataset_name: str, n: int = 20) -> NextToLabel:
    if not 1 <= n <= MAX_N:
        raise InvalidInput(f"n must be between 1 and {MAX_N}")
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, dataset_name)
        if dataset.task_type is not TaskType.CLASSIFICATION:
            raise InvalidInput("label-next ranking is available for classification datasets")
        candidates = images_repo.all_images(
            session, dataset.id, [ImageState.UNLABELED, ImageState.TO_CONFIRM]
        )
        labeled = images_repo.all_images(session, dataset.id, [ImageState.LABELED])
        trained = [
            m
            for m in models_repo.list_models(session, TaskType.CLASSIFICATION)
            if m.dataset_id == dataset.id and m.path
        ]
    if not candidates:
        return NextToLabel([], None)
    open_images = len(candidates)
    budget = [COMPUTE_MAX]
    candidates = _bounded_pool(app, candidates, dataset.id, budget)
    labeled = _bounded_pool(app, labeled, dataset.id + 1, budget)
    embedded = embed_images(app, candidates + labeled)
    rows = {img.id: i for i, img in enumerate(embedded.images)}
    cand = [img for img in candidates if img.id in rows]
    X = (embedded.embeddings + embedded.flipped) / 2
    X_cand = X[[rows[img.id] for img in cand]]
    X_lab = X[[rows[img.id] for img in labeled if img.id in rows]] if labeled else None
    model = trained[-1] if trained else None
    if model is not None and Path(model.path).is_dir():
        proba = LinearHead.load(Path(model.path)).predict_proba(X_cand)
    else:
        model = None
        proba = np.full((len(cand), 2), 0.5)  # no model: every image equally uncertain
    picked = select_next(
        proba,
        X_cand,
        n=min(n, len(cand)),
        labeled_embeddings=X_lab if X_lab is not None and len(X_lab) else None,
    )
    suggestions = []
    for rank, index in enumerate(picked.indices, 1):
        best = int(np.argmax(proba[index]))
        suggestions.append(
            Suggestion(
                image=cand[index],
                rank=rank,
                utility=float(picked.utility[index]),
                predicted=model.class_names[best] if model else None,
                score=float(proba[index, best]) if model else None,
            )
        )
    return NextToLabel(suggestions, model.ref if model else None, len(cand), open_images)
