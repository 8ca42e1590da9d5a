"""Datasets and labels through the services, on a real database."""

from __future__ import annotations

import pytest

from labelloop.domain import AlreadyExists, InvalidInput, NotFound, TaskType
from labelloop.services import datasets


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
