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
    # confirm the images typed none in one go; they become labeled with the shown boxes
    confirmed = annotating.confirm(app, "shapes", all_not_hard=True)
    for image_id in confirmed.changed:
        view = browsing.get_image(app, "shapes", str(image_id))
        assert view.annotation is not None and view.prediction is None


def test_detection_preconditions_count_images_per_box_label(app, tmp_path):
    seed_detection(app, tmp_path, labeled=3, unlabeled=2)
    with pytest.raises(PreconditionFailed, match="needs at least 5"):
        job_service.start_job(app, "shapes", "auto-label")
