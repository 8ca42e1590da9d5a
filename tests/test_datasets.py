"""Datasets and labels through the services, on a real database."""

from __future__ import annotations

import pytest

from labelloop.domain import (
    AlreadyExists,
    ImageState,
    InvalidInput,
    JobConflict,
    NotFound,
    TaskType,
)
from labelloop.services import datasets
from labelloop.services import jobs as job_service
from labelloop.storage import datasets_repo, images_repo
from seeding import seed_classification, seed_detection


def test_create_show_list_delete(app):
    ds = datasets.create_dataset(app, "pets", "classification", ["cat", "dog"])
    assert ds.task_type is TaskType.CLASSIFICATION
    assert ds.label_names() == ["cat", "dog"]
    assert ds.labels[0].color != ds.labels[1].color
    overview = datasets.dataset_overview(app, "pets")
    assert overview.counts == {"unlabeled": 0, "to_confirm": 0, "labeled": 0, "total": 0}
    assert overview.labels == {
        "cat": {"images": 0, "boxes": 0, "predicted": 0},
        "dog": {"images": 0, "boxes": 0, "predicted": 0},
    }
    assert [o.dataset.name for o in datasets.list_datasets(app)] == ["pets"]
    datasets.delete_dataset(app, "pets")
    assert datasets.list_datasets(app) == []
    with pytest.raises(NotFound, match="pets"):
        datasets.dataset_overview(app, "pets")


def test_dataset_names_are_unique(app):
    datasets.create_dataset(app, "cells", "detection")
    with pytest.raises(AlreadyExists, match="cells"):
        datasets.create_dataset(app, "cells", "classification")


def test_unknown_task_type_is_refused(app):
    with pytest.raises(InvalidInput, match="segmentation"):
        datasets.create_dataset(app, "x", "segmentation")


def test_add_labels_skips_existing_and_validates(app):
    datasets.create_dataset(app, "pets", "classification", ["cat"])
    added = datasets.add_labels(app, "pets", ["cat", "dog"])
    assert [label.name for label in added] == ["dog"]
    with pytest.raises(InvalidInput, match="not allowed"):
        datasets.add_labels(app, "pets", ["<script>"])
    with pytest.raises(InvalidInput, match="colour"):
        datasets.add_labels(app, "pets", ["owl"], ["red"])
    assert datasets.get_dataset(app, "pets").label_names() == ["cat", "dog"]


def test_a_bad_label_leaves_the_dataset_unchanged(app):
    with pytest.raises(InvalidInput):
        datasets.create_dataset(app, "pets", "classification", ["cat", ""])
    assert datasets.list_datasets(app) == []


def test_delete_a_dataset_full_of_labels_boxes_and_predictions(app, tmp_path):
    # Annotations point at labels with ON DELETE RESTRICT: the delete must not trip over it
    # (SQLite used to refuse any dataset with a labeled image).
    ids = seed_classification(app, tmp_path, "pets")
    truth = seed_detection(app, tmp_path, "shapes", labeled=2, unlabeled=2)
    with app.db.session() as session:
        shapes = datasets_repo.get_dataset_by_name(session, "shapes")
        label_ids = datasets_repo.label_ids(session, shapes.id)
        open_ids = list(truth)[2:]
        images_repo.publish_predictions(
            session,
            shapes.id,
            None,
            "test",
            [
                images_repo.NewPrediction(
                    image_id=i,
                    label_id=None,
                    score=None,
                    boxes=[(label_ids["disc"], 1.0, 2.0, 30.0, 30.0, 0.9)],
                    hard=False,
                    hard_type=None,
                    hard_coefficient=0.1,
                    hard_reasons=[],
                    hints=[],
                )
                for i in open_ids
            ],
        )
        pets = datasets_repo.get_dataset_by_name(session, "pets")
        pet_blobs = [i.sha256 for i in images_repo.all_images(session, pets.id, list(ImageState))]
    assert ids["cat"] and all(app.blobs.exists(sha) for sha in pet_blobs)

    datasets.delete_dataset(app, "pets")
    datasets.delete_dataset(app, "shapes")
    assert datasets.list_datasets(app) == []
    assert not any(app.blobs.exists(sha) for sha in pet_blobs)


def test_a_dataset_with_an_active_job_is_not_deleted(app, tmp_path):
    seed_classification(app, tmp_path, "pets")
    job = job_service.start_job(app, "pets", "auto-label")
    with pytest.raises(JobConflict, match=f"job {job.id} queued; cancel it"):
        datasets.delete_dataset(app, "pets")
    assert datasets.dataset_overview(app, "pets").counts["labeled"] == 10
    job_service.cancel_job(app, job.id)
    datasets.delete_dataset(app, "pets")
    assert datasets.list_datasets(app) == []
