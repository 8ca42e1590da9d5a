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


def draw_scene(
    rng, path: Path, size: tuple[int, int] = (256, 192)
) -> list[tuple[str, float, float, float, float]]:
    """Red squares ("square") and blue discs ("disc") on a textured background; their boxes."""
    import numpy as np
    from PIL import Image, ImageDraw

    width, height = size
    texture = rng.normal(0, 1, (height // 8, width // 8, 3))
    background = np.clip(
        rng.uniform(60, 190, 3) + 25 * np.kron(texture, np.ones((8, 8, 1))), 0, 255
    )
    image = Image.fromarray(background.astype(np.uint8))
    draw = ImageDraw.Draw(image)
    boxes: list[tuple[str, float, float, float, float]] = []
    for n in range(2):
        label = "square" if (n + int(rng.integers(0, 2))) % 2 == 0 else "disc"
        side = float(rng.integers(32, 72))
        x = float(rng.uniform(0, width / 2 - side)) + n * width / 2
        y = float(rng.uniform(0, height - side))
        if label == "square":
            draw.rectangle([x, y, x + side - 1, y + side - 1], fill=(220, 30, 30))
        else:
            draw.ellipse([x, y, x + side - 1, y + side - 1], fill=(30, 60, 220))
        boxes.append((label, x, y, side, side))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return boxes


def seed_detection(
    app: AppContext,
    tmp: Path,
    name: str = "shapes",
    *,
    labeled: int = 8,
    unlabeled: int = 6,
    seed: int = 3,
) -> dict[int, list]:
    """A detection dataset of generated scenes; returns the true boxes of every image id."""
    import numpy as np

    rng = np.random.default_rng(seed)
    datasets.create_dataset(app, name, "detection", ["square", "disc"])
    truth: dict[int, list] = {}
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, name)
        label_ids = datasets_repo.label_ids(session, dataset.id)
        for i in range(labeled + unlabeled):
            path = tmp / name / f"scene{i:03d}.png"
            boxes = draw_scene(rng, path)
            is_labeled = i < labeled
            image_id = _store(app, session, dataset.id, path, is_labeled)
            if is_labeled:
                images_repo.set_annotation(
                    session,
                    image_id,
                    label_id=None,
                    boxes=[(label_ids[b[0]], *b[1:]) for b in boxes],
                )
            truth[image_id] = boxes
    return truth
