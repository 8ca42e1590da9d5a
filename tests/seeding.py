"""Put small generated images straight into a dataset (for tests of what comes after import)."""

from __future__ import annotations

from pathlib import Path

from conftest import make_image
from labelloop.domain import ImageState
from labelloop.imaging import probe_image
from labelloop.services import datasets
from labelloop.services.context import AppContext
from labelloop.storage import datasets_repo, images_repo

COLORS = [(220, 40, 40), (40, 200, 60), (40, 60, 220), (230, 200, 30), (150, 40, 160)]


def seed_classification(
    app: AppContext,
    tmp: Path,
    name: str = "pets",
    *,
    labeled: dict[str, int] | None = None,
    unlabeled: int = 4,
    size: tuple[int, int] = (48, 40),
) -> dict[str, list[int]]:
    """Images whose colour gives their class; returns image ids by label ('' = unlabeled)."""
    labeled = labeled if labeled is not None else {"cat": 5, "dog": 5}
    datasets.create_dataset(app, name, "classification", list(labeled))
    ids: dict[str, list[int]] = {label: [] for label in labeled}
    ids[""] = []
    seed = 0
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, name)
        label_ids = datasets_repo.label_ids(session, dataset.id)
        labels = list(labeled)
        plan = [(label, True) for label in labels for _ in range(labeled[label])]
        plan += [(labels[i % len(labels)], False) for i in range(unlabeled)]
        for label, is_labeled in plan:
            seed += 1
            color = COLORS[labels.index(label) % len(COLORS)]
            path = make_image(tmp / name / f"img{seed:04d}.png", size, color, seed=seed)
            image_id = _store(app, session, dataset.id, path, is_labeled)
            if is_labeled:
                images_repo.set_annotation(session, image_id, label_id=label_ids[label], boxes=[])
            ids[label if is_labeled else ""].append(image_id)
    return ids


def _store(app, session, dataset_id: int, path: Path, labeled: bool) -> int:
    info = probe_image(path)
    sha = app.blobs.put_file(path)
    return images_repo.add_image(
        session,
        dataset_id=dataset_id,
        sha256=sha,
        width=info.width,
        height=info.height,
        original_path=path.name,
        file_format=info.format,
        size_bytes=path.stat().st_size,
        state=ImageState.LABELED if labeled else ImageState.UNLABELED,
    )
