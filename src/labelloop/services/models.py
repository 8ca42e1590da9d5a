"""Use cases of the model registry: list, show, register (ONNX file or remote endpoint), delete.

Models trained by smart-labeling jobs enter the registry when their job publishes
(services.jobs.publish). Uploaded files are checked against their contract, then copied into
``settings.model_dir / <name>-v<version>/`` as ``model.onnx`` + ``contract.json``: the registry
never points at a file the user may move or edit. Export lives in ``model_export``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlparse

from labelloop.domain import Conflict, InvalidInput, JobKind, NotFound, TaskType
from labelloop.domain.models import Model, ModelSource
from labelloop.ml.runtime.contract import ModelContract
from labelloop.storage import jobs_repo, models_repo

from .context import AppContext

MODEL_FILE = "model.onnx"
CONTRACT_FILE = "contract.json"
IMAGE_TRANSPORTS = ("http", "data-uri")
# The largest ONNX file the web API accepts (the CLI reads files in place and has no cap).
MAX_UPLOAD_BYTES = 2 * 1024**3
WORK_DIR = ".work"  # inside model_dir: uploads move into place without a copy
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")


@dataclass(frozen=True)
class RemoteSettings:
    """How a job talks to a remote model (stored in the model's config)."""

    url: str
    timeout_s: float = 60.0
    retries: int = 3
    batch_size: int = 8
    image_transport: str = "http"

    @classmethod
    def from_config(cls, config: dict) -> RemoteSettings:
        known = {k: config[k] for k in cls.__dataclass_fields__ if k in config}
        return cls(**known)


def model_view(model: Model) -> dict:
    """What ``model show``/``list --json`` print."""
    return {
        "id": model.id,
        "name": model.name,
        "version": model.version,
        "ref": model.ref,
        "task_type": model.task_type.value,
        "source": model.source.value,
        "class_names": list(model.class_names),
        "metrics": dict(model.metrics),
        "created_at": model.created_at.isoformat() if model.created_at else None,
        "path": model.path,
        "dataset_id": model.dataset_id,
        "job_id": model.job_id,
        "config": dict(model.config),
    }


def list_models(app: AppContext, task_type: str | None = None) -> list[Model]:
    with app.db.session() as session:
        return models_repo.list_models(session, _task_type(task_type) if task_type else None)


def get_model(app: AppContext, ref: str) -> Model:
    """``NAME`` (latest version), ``NAME:VERSION`` or a numeric id."""
    with app.db.session() as session:
        return models_repo.get_model(session, ref)


def register_onnx(
    app: AppContext,
    name: str,
    onnx_file: Path,
    contract: ModelContract,
    *,
    filename: str | None = None,
    move: bool = False,
) -> Model:
    """Check ``onnx_file`` against ``contract`` with ONNX Runtime, then copy and register it.

    Raises InvalidInput naming the reason when the file is not an ONNX model or breaks the
    contract (input name/shape/type, output names/shapes, class count). ``filename`` is the
    name to report and remember (an upload's own name, not its temporary one); ``move`` moves
    the file into the registry instead of copying it (an upload the caller no longer needs)."""
    from labelloop.ml.runtime.onnx_model import ModelMismatch, OnnxModel

    _check_name(name)
    onnx_file = Path(onnx_file)
    shown = filename or onnx_file.name
    if not onnx_file.is_file():
        raise InvalidInput(f"{filename or onnx_file} is not a file")
    runner = OnnxModel(onnx_file, contract, intra_op_threads=1)
    try:
        runner.check()
    except ModelMismatch as exc:
        raise InvalidInput(f"{shown} does not fit its contract: {exc}") from None
    show_threshold = (
        _show_threshold(runner.metadata()) if contract.task_type == "detection" else None
    )
    min_top = (
        _unit_metadata(runner.metadata(), "min_top_probability")
        if contract.task_type == "classification"
        else None
    )
    staging = app.settings.model_dir / f".incoming-{uuid.uuid4().hex}"
    staging.mkdir(parents=True)
    try:
        _place(onnx_file, staging / MODEL_FILE, move=move)
        contract.save(staging / CONTRACT_FILE)
        config = {
            "contract": contract.to_dict(),
            "sha256": _sha256(staging / MODEL_FILE),
            "uploaded_file": shown,
        }
        if show_threshold is not None:
            config["show_threshold"] = show_threshold
        if min_top is not None:
            config["min_top_probability"] = min_top
        return _add_with_folder(app, name, contract, config, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _place(source: Path, destination: Path, *, move: bool) -> None:
    if move:
        try:
            os.replace(source, destination)  # same file system: no copy
            return
        except OSError:
            pass  # another file system: copy (the caller removes its file)
    shutil.copyfile(source, destination)


def work_folder(app: AppContext) -> Path:
    """Where the web API writes an ONNX file while it arrives (beside the registry's folders,
    so registering it is a rename) and builds export archives (model files can be large;
    the system's temporary folder may be small or in memory)."""
    folder = app.settings.model_dir / WORK_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def parse_contract(text: str | bytes) -> ModelContract:
    """A contract from its JSON text (contract.json), refused with the reason as InvalidInput."""
    from labelloop.ml.runtime.contract import ContractError

    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"the contract is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput("the contract is not a JSON object")
    try:
        return ModelContract.from_dict(data)
    except ContractError as exc:
        raise InvalidInput(f"the contract is not valid: {exc}") from None


def export_archive(app: AppContext, ref: str, workdir: Path) -> Path:
    """A local model as ``<name>-v<version>.zip`` in ``workdir`` (which the caller owns),
    holding ``model.onnx`` and ``contract.json`` as ``model export`` writes them. A remote
    model is refused: it has no file to export."""
    from .model_export import export_model

    model = get_model(app, ref)
    result = export_model(app, str(model.id), workdir / "files")
    archive = workdir / f"{model.name}-v{model.version}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        # Weights barely compress; storing them keeps a large model's download quick.
        zf.write(result.model_file, MODEL_FILE, compress_type=zipfile.ZIP_STORED)
        zf.write(result.contract_file, CONTRACT_FILE, compress_type=zipfile.ZIP_DEFLATED)
    return archive


def _add_with_folder(
    app: AppContext, name: str, contract: ModelContract, config: dict, staging: Path
) -> Model:
    """Insert the registry row and move the staged files to ``<name>-v<version>`` in one go:
    when the insert fails the folder is removed, when the move fails nothing is inserted."""
    folder: Path | None = None
    try:
        with app.db.session() as session:
            model = models_repo.add_model(
                session,
                name=name,
                task_type=TaskType(contract.task_type),
                source=ModelSource.ONNX.value,
                class_names=list(contract.class_names),
                metrics={},
                config=config,
                path=None,
            )
            folder = app.settings.model_dir / f"{name}-v{model.version}"
            if folder.exists():
                raise Conflict(f"{folder} already exists; move it away and register again")
            staging.rename(folder)
            models_repo.set_model_path(session, model.id, str(folder))
            return replace(model, path=str(folder))
    except BaseException:
        if folder is not None and folder.is_dir() and not staging.exists():
            shutil.rmtree(folder, ignore_errors=True)
        raise


def register_remote(
    app: AppContext,
    name: str,
    settings: RemoteSettings,
    task_type: str,
    class_names: list[str] | None = None,
) -> Model:
    """Register a Label Studio ML backend after checking its /health. Class names come from
    ``class_names`` or, when it offers them, the backend's /setup."""
    from labelloop.ml.runtime.remote import RemoteModelClient, RemoteModelError

    _check_name(name)
    kind = _task_type(task_type)
    _check_remote_settings(settings)
    client = RemoteModelClient(
        settings.url, kind.value, timeout=settings.timeout_s, retries=settings.retries
    )
    with client:
        try:
            health = client.health()
        except RemoteModelError as exc:
            raise InvalidInput(f"cannot register {settings.url}: {exc}") from None
        names = list(class_names or []) or client.class_names()
    if not names:
        raise InvalidInput(
            f"{settings.url} does not list its classes at /setup; give them with --classes a,b,..."
        )
    if len(set(names)) != len(names) or any(not n.strip() for n in names):
        raise InvalidInput("class names must be non-empty and distinct")
    config = {**settings.__dict__, "health": health}
    with app.db.session() as session:
        return models_repo.add_model(
            session,
            name=name,
            task_type=kind,
            source=ModelSource.REMOTE.value,
            class_names=names,
            metrics={},
            config=config,
            path=None,
        )


def delete_model(app: AppContext, ref: str) -> Model:
    """Remove a model version and its files; refused while a pre-label job uses it."""
    from .jobs import recover_interrupted

    recover_interrupted(app)  # a job whose worker died must not keep the model forever
    with app.db.session() as session:
        model = models_repo.get_model(session, ref)
        users = [job for job in jobs_repo.active_jobs(session) if _job_uses(session, job, model)]
        if users:
            which = ", ".join(f"job {job.id} ({job.state.value})" for job in users)
            raise Conflict(f"model {model.ref} is used by {which}; cancel it or wait")
        models_repo.delete_model(session, model.id)
    _remove_files(app, model)
    return model


def _job_uses(session, job, model: Model) -> bool:
    if job.kind is not JobKind.PRE_LABEL:
        return False
    if job.params.get("model_id") == model.id:
        return True
    ref = job.params.get("model")
    if not isinstance(ref, str):
        return False
    try:
        return models_repo.get_model(session, ref).id == model.id
    except NotFound:
        return False


def _remove_files(app: AppContext, model: Model) -> None:
    """Delete the model's folder, but only one that lies inside the model directory."""
    if not model.path:
        return
    folder = Path(model.path).resolve()
    root = app.settings.model_dir.resolve()
    if folder != root and folder.is_relative_to(root) and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def _show_threshold(metadata: dict[str, str]) -> float | None:
    """A detector's own show threshold from its ONNX metadata (labelloop's exported detectors
    write one, chosen by cross-validation), when it holds a usable value."""
    try:
        value = float(metadata.get("show_threshold", "nan"))
    except ValueError:
        return None
    return value if 0.0 < value < 1.0 else None


def _unit_metadata(metadata: dict[str, str], key: str) -> float | None:
    """A value in [0, 1] from the model's ONNX metadata (labelloop's exported classifiers
    carry the confidence floor their job flagged hard below), when usable."""
    try:
        value = float(metadata.get(key, "nan"))
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


def _check_name(name: str) -> None:
    if not _NAME.match(name or ""):
        raise InvalidInput(
            f"model name {name!r} must be 1-80 letters, digits, '.', '_' or '-', starting with a "
            "letter or digit (':' separates the version: NAME:VERSION)"
        )


def _check_remote_settings(settings: RemoteSettings) -> None:
    parsed = urlparse(settings.url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise InvalidInput(f"remote URL {settings.url!r} must be http(s)://host[:port][/path]")
    if settings.image_transport not in IMAGE_TRANSPORTS:
        raise InvalidInput(f"--image-transport must be one of: {', '.join(IMAGE_TRANSPORTS)}")
    if settings.timeout_s <= 0 or settings.batch_size < 1 or settings.retries < 0:
        raise InvalidInput("timeout must be > 0, batch size >= 1 and retries >= 0")


def _task_type(value: str) -> TaskType:
    try:
        return TaskType(value)
    except ValueError:
        raise InvalidInput(
            f"task type {value!r} is not one of: {', '.join(t.value for t in TaskType)}"
        ) from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
