"""Datasets of solid-colour images for pre-labeling tests, and reading back what a job did."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from labelloop.domain import ImageState
from labelloop.imaging import probe_image
from labelloop.jobs.runner import run_job
from labelloop.services import datasets
from labelloop.services import jobs as job_service
from labelloop.storage import datasets_repo, images_repo

RED, GREEN, BLUE, YELLOW = (220, 40, 40), (40, 200, 60), (40, 60, 220), (200, 190, 30)


def colour_dataset(
    app,
    tmp: Path,
    name: str,
    task_type: str,
    labels: list[str],
    unlabeled: list[tuple[int, int, int]],
    *,
    size: tuple[int, int] = (60, 40),
    labeled: list[tuple[tuple[int, int, int], str]] = (),
    fmt: str = "PNG",
) -> list[int]:
    """A dataset whose unlabeled images are solid ``unlabeled`` colours; returns their ids
    (labeled images, if any, come after)."""
    datasets.create_dataset(app, name, task_type, labels)
    ids = []
    with app.db.session() as session:
        dataset = datasets_repo.get_dataset_by_name(session, name)
        label_ids = datasets_repo.label_ids(session, dataset.id)
        plan = [(colour, None) for colour in unlabeled] + list(labeled)
        for n, (colour, label) in enumerate(plan):
            path = tmp / name / f"img{n:04d}.{fmt.lower()}"
            path.parent.mkdir(parents=True, exist_ok=True)
            img = Image.new("RGB", size, colour)
            img.putpixel((n % size[0], 0), (n % 256, 1, 2))  # distinct files, distinct sha256
            img.save(path, format=fmt)
            info = probe_image(path)
            image_id = images_repo.add_image(
                session,
                dataset_id=dataset.id,
                sha256=app.blobs.put_file(path),
                width=info.width,
                height=info.height,
                original_path=path.name,
                file_format=info.format,
                size_bytes=path.stat().st_size,
                state=ImageState.LABELED if label else ImageState.UNLABELED,
            )
            if label:
                images_repo.set_annotation(session, image_id, label_id=label_ids[label], boxes=[])
            ids.append(image_id)
    return ids


def textured_images(
    folder: Path, colours: list[tuple[int, int, int]], *, seed: int = 0
) -> list[Path]:
    """Noisy photos tinted by ``colours``, in several sizes and formats: JPEGs large enough for
    draft decoding, portrait and landscape shapes for the centre crop."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shapes = [(320, 240, "JPEG"), (150, 200, "PNG"), (900, 700, "JPEG"), (224, 224, "PNG")]
    paths = []
    folder.mkdir(parents=True, exist_ok=True)
    for n, colour in enumerate(colours):
        width, height, fmt = shapes[n % len(shapes)]
        noise = rng.normal(0, 50, size=(height, width, 3))
        pixels = np.clip(np.asarray(colour, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
        path = folder / f"{seed}-{n:03d}.{'jpg' if fmt == 'JPEG' else 'png'}"
        Image.fromarray(pixels).save(path, format=fmt)
        paths.append(path)
    return paths


def add_files(app, dataset: str, paths: list[Path], labels: list[str | None]) -> list[int]:
    """Store ``paths`` in ``dataset`` (labeled where ``labels`` names a label)."""
    ids = []
    with app.db.session() as session:
        ds = datasets_repo.get_dataset_by_name(session, dataset)
        label_ids = datasets_repo.label_ids(session, ds.id)
        for path, label in zip(paths, labels, strict=True):
            info = probe_image(path)
            image_id = images_repo.add_image(
                session,
                dataset_id=ds.id,
                sha256=app.blobs.put_file(path),
                width=info.width,
                height=info.height,
                original_path=path.name,
                file_format=info.format,
                size_bytes=path.stat().st_size,
                state=ImageState.LABELED if label else ImageState.UNLABELED,
            )
            if label:
                images_repo.set_annotation(session, image_id, label_id=label_ids[label], boxes=[])
            ids.append(image_id)
    return ids


def prelabel(app, dataset: str, model: str, mapping: dict | None = None):
    """Start a pre-label job and run it in this process; returns the finished job."""
    params = {"model": model}
    if mapping:
        params["map"] = mapping
    job = job_service.start_job(app, dataset, "pre-label", params)
    return run_job(app, job.id)


def predictions(app, dataset: str) -> dict:
    with app.db.session() as session:
        ds = datasets_repo.get_dataset_by_name(session, dataset)
        ids = [i.id for i in images_repo.all_images(session, ds.id, list(ImageState))]
        return images_repo.predictions_for(session, ds.id, ids)


def states(app, dataset: str) -> dict:
    return {k: v for k, v in datasets.dataset_overview(app, dataset).counts.items() if k != "total"}
