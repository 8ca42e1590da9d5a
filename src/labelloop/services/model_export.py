"""Export a local model as ``model.onnx`` + ``contract.json`` (design section 4, "Models").

Uploaded ONNX models are copied as registered. A model trained by a classification job (a
linear head on the EfficientNet-Lite0 embedding, ``config["kind"] == "linear-head"``) becomes
one graph — backbone, flip-averaged embedding, head, softmax — with the contract of the
backbone's own preprocessing (224 px centre crop, (x - 127) / 128, RGB, NCHW): registered back
with ``labelloop model register``, it answers what the native model answers. A model trained
by a detection job (``"detector"``) becomes backbone + head + decoding + NMS
(``ml.detect``'s exporter: letterboxed top-left, padded with 127, calibrated scores, its show
threshold in the ONNX metadata). A remote model has no file to export.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labelloop.domain import InvalidInput, LabelloopError
from labelloop.domain.models import Model, ModelSource
from labelloop.ml.features import INPUT_SIZE
from labelloop.ml.features.preprocess import NORM_CENTER, NORM_SCALE
from labelloop.ml.runtime.contract import ContractError, ModelContract

from .context import AppContext
from .models import CONTRACT_FILE, MODEL_FILE, get_model

LINEAR_HEAD = "linear-head"
DETECTOR = "detector"


@dataclass(frozen=True)
class ExportResult:
    model: str  # NAME:VERSION
    model_file: str
    contract_file: str

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def export_model(
    app: AppContext, ref: str, out_dir: Path, *, overwrite: bool = False
) -> ExportResult:
    model = get_model(app, ref)
    if model.source is ModelSource.REMOTE:
        raise InvalidInput(f"model {model.ref} is a remote endpoint; it has no file to export")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(
            f"{out_dir} is a file; export writes a folder ({MODEL_FILE} + {CONTRACT_FILE})"
        )
    targets = [out_dir / MODEL_FILE, out_dir / CONTRACT_FILE]
    existing = [p.name for p in targets if p.exists()]
    if existing and not overwrite:
        raise InvalidInput(f"{out_dir} already holds {', '.join(existing)}; use --force to replace")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"cannot create the export folder {out_dir}: {exc.strerror}") from None
    folder = Path(model.path) if model.path else None
    if folder is not None and (folder / MODEL_FILE).is_file():
        contract = stored_contract(model)
        _copy_atomically(folder / MODEL_FILE, out_dir / MODEL_FILE)
    elif model.config.get("kind") == LINEAR_HEAD:
        contract = linear_head_contract(model)
        _export_linear_head(model, out_dir / MODEL_FILE)
    elif model.config.get("kind") == DETECTOR:
        detector = load_detector(app, model)
        contract = detector_contract(model, detector.meta.input_size)
        with _quiet_torch_export():
            detector.export_onnx(out_dir / MODEL_FILE)
    else:
        raise LabelloopError(
            f"model {model.ref} has no ONNX file and no exportable kind "
            f"({model.config.get('kind')!r}); it cannot be exported"
        )
    contract.save(out_dir / CONTRACT_FILE)
    _as_user_files(out_dir / MODEL_FILE, out_dir / CONTRACT_FILE)
    return ExportResult(model.ref, str(out_dir / MODEL_FILE), str(out_dir / CONTRACT_FILE))


def _as_user_files(*paths: Path) -> None:
    """The modes a plain file gets (0666 less the umask): the atomic writes go through
    mkstemp, whose owner-only 0600 would stop anyone else from using the exported model."""
    umask = os.umask(0)
    os.umask(umask)
    for path in paths:
        path.chmod(0o666 & ~umask)


def stored_contract(model: Model) -> ModelContract:
    """The contract kept with a local model (beside its file, else in its config)."""
    path = Path(model.path or "") / CONTRACT_FILE
    try:
        if model.path and path.is_file():
            return ModelContract.load(path)
        if "contract" in model.config:
            return ModelContract.from_dict(model.config["contract"])
    except ContractError as exc:
        raise LabelloopError(f"model {model.ref}: {exc}") from None
    raise LabelloopError(f"model {model.ref} has no contract ({path} is missing)")


def linear_head_contract(model: Model) -> ModelContract:
    """How the exported graph of a trained classifier must be fed: as the backbone is."""
    return ModelContract(
        task_type="classification",
        class_names=tuple(model.class_names),
        size=(INPUT_SIZE, INPUT_SIZE),
        mean=(NORM_CENTER,) * 3,
        std=(NORM_SCALE,) * 3,
        channels="RGB",
        layout="NCHW",
        resize="center-crop",
        input_name="images",
        outputs_probabilities=True,
        output_names={"scores": "scores"},
    )


def detector_contract(model: Model, input_size: int) -> ModelContract:
    """How ml.detect's exported graph is fed (see ml/detect/_export.py)."""
    return ModelContract(
        task_type="detection",
        class_names=tuple(model.class_names),
        size=(input_size, input_size),
        mean=(NORM_CENTER,) * 3,
        std=(NORM_SCALE,) * 3,
        channels="RGB",
        layout="NCHW",
        resize="letterbox-top-left",
        input_name="images",
        output_names={"boxes": "boxes", "scores": "scores", "labels": "labels"},
        pad_value=float(NORM_CENTER),
    )


def load_detector(app: AppContext, model: Model):
    """A detection job's TrainedDetector, with the caches the job used (features are reused)."""
    from labelloop.ml.detect import TrainedDetector

    if not model.path or not Path(model.path).is_dir():
        raise LabelloopError(f"model {model.ref}: its folder {model.path} is missing")
    try:
        return TrainedDetector.load(
            Path(model.path),
            cache_dir=app.settings.cache_dir / "backbone",
            feature_cache_dir=app.settings.cache_dir / "detection-features",
        )
    except (OSError, ValueError, KeyError) as exc:
        raise LabelloopError(f"model {model.ref}: cannot load the detector: {exc}") from None


def check_backbone(model: Model) -> None:
    """Refuse a trained model whose backbone or preprocessing is not this installation's:
    its head would be applied to embeddings it was never trained on."""
    from labelloop.ml.features import PREPROCESS_VERSION, backbone_id

    wanted = model.config.get("backbone_id")
    here = backbone_id(None)
    if wanted and wanted != here:
        raise LabelloopError(
            f"model {model.ref} was trained on backbone {wanted}; this installation has {here}"
        )
    version = model.config.get("preprocess_version")
    if version and version != PREPROCESS_VERSION:
        raise LabelloopError(
            f"model {model.ref} was trained with preprocessing {version}; this installation "
            f"uses {PREPROCESS_VERSION}"
        )


def load_linear_head(model: Model):
    from labelloop.ml.classify.portable import LinearHead

    check_backbone(model)
    if not model.path or not Path(model.path).is_dir():
        raise LabelloopError(f"model {model.ref}: its folder {model.path} is missing")
    try:
        head = LinearHead.load(Path(model.path))
    except (OSError, ValueError, KeyError) as exc:
        raise LabelloopError(f"model {model.ref}: cannot load its head: {exc}") from None
    if not np.array_equal(np.asarray(head.classes), np.arange(len(model.class_names))):
        raise LabelloopError(
            f"model {model.ref}: its head's classes {list(head.classes)} do not match its "
            f"{len(model.class_names)} class names"
        )
    return head


def _export_linear_head(model: Model, destination: Path) -> None:
    from labelloop.ml.classify.onnx_head import export_classifier_onnx

    head = load_linear_head(model)
    with _quiet_torch_export():
        export_classifier_onnx(
            head, destination, flip_average=bool(model.config.get("flip_average", False))
        )
    floor = model.config.get("min_top_probability")
    if isinstance(floor, int | float) and 0.0 <= floor <= 1.0:
        # Travels in the file's metadata (the contract holds only how to run the model), as a
        # detector's show threshold does; registering the file brings it back.
        import onnx

        graph = onnx.load(str(destination))
        entry = graph.metadata_props.add()
        entry.key, entry.value = "min_top_probability", f"{floor:.6f}"
        onnx.save(graph, str(destination))


@contextmanager
def _quiet_torch_export():
    """torch's legacy exporter (chosen on purpose, see ml/features/onnx_export.py) warns about
    itself and about constant folding at every export; none of it is actionable."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch\.onnx")
        for message in (
            "You are using the legacy TorchScript",
            "Constant folding - Only steps=1",
            "Converting a tensor to a Python",
            "The feature will be removed",
        ):
            warnings.filterwarnings("ignore", message=message)
        yield


def _copy_atomically(source: Path, destination: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=destination.parent, suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, destination)
    finally:
        Path(tmp).unlink(missing_ok=True)
