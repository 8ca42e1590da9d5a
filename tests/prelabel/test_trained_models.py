"""Models trained here (a linear head on the EfficientNet-Lite0 embedding, as classification
jobs save them): pre-labeling with the native model, export to ONNX, registration of the
exported file, and the same predictions from both.

The head is fitted in the test on real backbone embeddings (independent of the auto-label
pipeline; test_prelabel_roundtrip.py does the same through an active-learning job)."""

from __future__ import annotations

import numpy as np
import pytest
from prelabel_support import add_files, predictions, prelabel, textured_images
from sklearn.linear_model import LogisticRegression

from labelloop.config import Settings
from labelloop.domain import ImageState, JobState, TaskType
from labelloop.ml.classify.portable import LinearHead
from labelloop.ml.features import PREPROCESS_VERSION, backbone_id
from labelloop.ml.runtime.contract import ModelContract
from labelloop.services import datasets, models
from labelloop.services.context import AppContext
from labelloop.services.features import embed_images
from labelloop.services.model_export import export_model
from labelloop.storage import datasets_repo, images_repo, models_repo

pytestmark = pytest.mark.slow

TINTS = {"red": (200, 70, 60), "green": (70, 190, 80), "blue": (60, 80, 200)}


@pytest.fixture
def app(tmp_path, tmp_path_factory, database_url):
    """An app whose backbone ONNX cache is shared by the tests of this session (one export)."""
    cache = tmp_path_factory.getbasetemp() / "shared-backbone-cache"
    ctx = AppContext(Settings(tmp_path / "home", database_url, cache_override=cache))
    yield ctx
    ctx.close()


def fit_linear_head(app, dataset: str, class_names: list[str], temperature: float) -> LinearHead:
    """Logistic regression on flip-averaged embeddings of the dataset's labeled images."""
    with app.db.session() as session:
        ds = datasets_repo.get_dataset_by_name(session, dataset)
        labeled = images_repo.all_images(session, ds.id, [ImageState.LABELED])
        notes = images_repo.annotations_for(session, ds.id, [i.id for i in labeled])
    embedded = embed_images(app, labeled)
    X = (embedded.embeddings + embedded.flipped) / 2
    y = np.array([class_names.index(notes[img.id].label) for img in embedded.images])
    unit = X / np.linalg.norm(X, axis=1, keepdims=True)
    mean = unit.mean(axis=0)
    Z = unit - mean
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    fitted = LogisticRegression(C=1.0, max_iter=1000).fit(Z, y)
    return LinearHead(
        power=None,
        mean=mean,
        components=None,
        scale=None,
        coef=fitted.coef_,
        intercept=fitted.intercept_,
        classes=fitted.classes_,
        temperature=temperature,
    )


def register_trained(app, head: LinearHead, class_names: list[str]):
    folder = app.settings.model_dir / "job-1"
    head.save(folder)
    with app.db.session() as session:
        return models_repo.add_model(
            session,
            name="shapes-classifier",
            task_type=TaskType.CLASSIFICATION,
            source="trained",
            class_names=class_names,
            metrics={"cv_accuracy": 1.0},
            config={
                "kind": "linear-head",
                "backbone_id": backbone_id(None),
                "preprocess_version": PREPROCESS_VERSION,
                "flip_average": True,
            },
            path=str(folder),
        )


def test_native_and_exported_trained_model_predict_the_same(app, tmp_path):
    names = list(TINTS)
    datasets.create_dataset(app, "train", "classification", names)
    train = [c for c in names for _ in range(4)]
    add_files(app, "train", textured_images(tmp_path / "a", [TINTS[c] for c in train]), train)
    # A high temperature keeps the probabilities away from 0/1 so the comparison means something.
    head = fit_linear_head(app, "train", names, temperature=8.0)
    model = register_trained(app, head, names)

    exported = export_model(app, model.ref, tmp_path / "export")
    contract = ModelContract.load(tmp_path / "export" / "contract.json")
    assert (contract.resize, contract.size) == ("center-crop", (224, 224))
    assert (contract.mean, contract.std) == ((127.0,) * 3, (128.0,) * 3)
    onnx_model = models.register_onnx(
        app, "shapes-onnx", tmp_path / "export" / "model.onnx", contract
    )
    assert exported.model == "shapes-classifier:1" and onnx_model.source.value == "onnx"

    truth = [names[i % 3] for i in range(12)]
    files = textured_images(tmp_path / "b", [TINTS[c] for c in truth], seed=1)
    for dataset in ("native", "exported"):
        datasets.create_dataset(app, dataset, "classification", names)
        add_files(app, dataset, files, [None] * len(files))
    native_job = prelabel(app, "native", "shapes-classifier")
    onnx_job = prelabel(app, "exported", "shapes-onnx")
    assert native_job.state is JobState.SUCCEEDED, native_job.error
    assert onnx_job.state is JobState.SUCCEEDED, onnx_job.error
    native = sorted(predictions(app, "native").values(), key=lambda p: p.image_id)
    exported_predictions = sorted(predictions(app, "exported").values(), key=lambda p: p.image_id)
    assert [p.label for p in native] == [p.label for p in exported_predictions]
    assert sum(p.label == t for p, t in zip(native, truth, strict=True)) >= 10
    scores = np.array([[p.score for p in native], [p.score for p in exported_predictions]])
    assert scores.min() < 0.95  # not saturated
    np.testing.assert_allclose(scores[0], scores[1], atol=1e-4)
    assert [p.hard for p in native] == [p.hard for p in exported_predictions]
    assert native_job.metrics["embedded_now"] == 12


def test_a_trained_model_on_another_backbone_is_refused(app, tmp_path):
    names = ["red", "green"]
    head = LinearHead(None, np.zeros(1280), None, None, np.ones((1, 1280)), np.zeros(1),
                      np.arange(2))  # fmt: skip
    model = register_trained(app, head, names)
    with app.db.session() as session:
        models_repo.delete_model(session, model.id)
        other = models_repo.add_model(
            session,
            name="old",
            task_type=TaskType.CLASSIFICATION,
            source="trained",
            class_names=names,
            metrics={},
            config={"kind": "linear-head", "backbone_id": "efficientnet_lite0-0123456789ab"},
            path=model.path,
        )
    datasets.create_dataset(app, "pets", "classification", names)
    add_files(app, "pets", textured_images(tmp_path / "c", [TINTS["red"]]), [None])
    job = prelabel(app, "pets", other.ref)
    assert job.state is JobState.FAILED
    assert "trained on backbone efficientnet_lite0-0123456789ab" in job.error
    with pytest.raises(Exception, match="trained on backbone"):
        export_model(app, other.ref, tmp_path / "out")
