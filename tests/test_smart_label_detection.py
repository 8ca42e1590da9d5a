"""Active learning on a detection dataset, end to end: the job trains the real few-shot
detector on generated scenes, publishes boxes with hard types, saves a model version."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.domain import HardType, InvalidInput, JobState, PreconditionFailed
from labelloop.jobs.runner import run_job
from labelloop.ml.detect import iou_matrix
from labelloop.services import annotating, browsing, datasets
from labelloop.services import jobs as job_service
from seeding import seed_detection

pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


def test_detection_job_finds_the_objects(app, tmp_path):
    truth = seed_detection(app, tmp_path, labeled=10, unlabeled=6)
    with pytest.raises(InvalidInput, match="algorithm"):
        job_service.start_job(app, "shapes", "auto-label", {"algorithm": "fast"})
    job = job_service.start_job(app, "shapes", "auto-label")
    done = run_job(app, job.id)
    assert done.state is JobState.SUCCEEDED, done.error
    assert datasets.dataset_overview(app, "shapes").counts["to_confirm"] == 6
    page = browsing.list_images(app, "shapes", state="to_confirm")
    found = total = 0
    for view in page.items:
        p = view.prediction
        assert p.hard_type in set(HardType)
        assert 0.0 <= p.hard_coefficient <= 1.0
        true_boxes = truth[view.image.id]
        total += len(true_boxes)
        for label, x, y, w, h in true_boxes:
            same = [b for b in p.boxes if b.label == label]
            if same:
                ious = iou_matrix(
                    np.array([[x, y, x + w, y + h]]),
                    np.array([[b.x, b.y, b.x + b.w, b.y + b.h] for b in same]),
                )
                found += bool(ious.max() >= 0.5)
    assert found >= 0.6 * total, f"found {found} of {total} objects"
    assert done.result["model"]["name"] == "shapes-detector"
    assert done.metrics["feature_cache_evicted"] == {"files": 0, "bytes": 0}  # under 4 GB
    # confirm the images typed none in one go; they become labeled with the shown boxes
    confirmed = annotating.confirm(app, "shapes", all_not_hard=True)
    for image_id in confirmed.changed:
        view = browsing.get_image(app, "shapes", str(image_id))
        assert view.annotation is not None and view.prediction is None


def test_detection_preconditions_count_images_per_box_label(app, tmp_path):
    seed_detection(app, tmp_path, labeled=3, unlabeled=2)
    with pytest.raises(PreconditionFailed, match="needs at least 5"):
        job_service.start_job(app, "shapes", "auto-label")


def _corrupt_blob(app, image_id: int) -> None:
    """Keep the header, cut the pixels: what a bad disk or an interrupted copy leaves."""
    view = browsing.get_image(app, "shapes", str(image_id))
    path = app.blobs.path_for(view.image.sha256)
    data = path.read_bytes()
    path.chmod(0o644)
    path.write_bytes(data[: len(data) // 3])


def test_detection_job_skips_images_whose_pixels_do_not_decode(app, tmp_path):
    truth = seed_detection(app, tmp_path, labeled=10, unlabeled=4)
    ids = sorted(truth)
    broken_labeled, broken_open = ids[0], ids[-1]
    _corrupt_blob(app, broken_labeled)
    _corrupt_blob(app, broken_open)

    done = run_job(app, job_service.start_job(app, "shapes", "auto-label").id)

    assert done.state is JobState.SUCCEEDED, done.error
    [failed] = done.result["failed_images"]
    assert failed["image"] == broken_open and "cannot decode image" in failed["reason"]
    [skipped] = done.result["skipped_labeled_images"]
    assert skipped["image"] == broken_labeled and "cannot decode image" in skipped["reason"]
    assert done.metrics["labeled_images"] == 9
    # The broken open image keeps its state; the others got their predictions.
    assert browsing.get_image(app, "shapes", str(broken_open)).image.state.value == "unlabeled"
    assert datasets.dataset_overview(app, "shapes").counts["to_confirm"] == 3
    # The broken labeled image keeps its label.
    kept = browsing.get_image(app, "shapes", str(broken_labeled))
    assert kept.image.state.value == "labeled" and len(kept.annotation.boxes) == len(
        truth[broken_labeled])
