"""The model registry: list and show; register an ONNX upload or a remote endpoint; export a
local model as a zip; delete a version (refused while a pre-label task uses it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from labelloop.domain import InvalidInput
from labelloop.services import models as model_service

from ..deps import Context
from ..downloads import zip_download
from ..schemas import ModelOut, RemoteModelCreate, TaskTypeName

router = APIRouter(prefix="/models", tags=["models"])

_FIELDS = ("name", "contract")
_MAX_FIELD_BYTES = 1024 * 1024  # a contract is a few hundred bytes; 1 MiB is plenty
_FORM_OVERHEAD = 2 * _MAX_FIELD_BYTES + 64 * 1024  # fields and multipart headers
_WRITE_CHUNK = 1 << 20

_UPLOAD_FORM = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "file", "contract"],
                    "properties": {
                        "name": {"type": "string", "description": "Registry name"},
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "The .onnx model file (at most 2 GiB)",
                        },
                        "contract": {
                            "type": "string",
                            "description": "contract.json: its text, or the file itself",
                        },
                    },
                }
            }
        },
    }
}


@router.get("", response_model=list[ModelOut])
def list_models(
    ctx: Context,
    task_type: Annotated[
        TaskTypeName | None, Query(description="Only models for this task type")
    ] = None,
) -> list[ModelOut]:
    return [ModelOut.from_model(m) for m in model_service.list_models(ctx, task_type)]


@router.post(
    "",
    response_model=ModelOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_UPLOAD_FORM,
)
async def register_onnx(request: Request, ctx: Context) -> ModelOut:
    """Register an ONNX file with its contract (as ``labelloop model register --onnx``): the
    file is run once under the contract and refused with the reason (422) when it is not an
    ONNX model or does not fit it; nothing is stored then. Files over 2 GiB: 413."""
    cap = model_service.MAX_UPLOAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap + _FORM_OVERHEAD:
        raise HTTPException(413, _too_large(cap))
    folder = model_service.work_folder(ctx)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="upload-", suffix=".onnx")
    upload = Path(tmp)
    try:
        with os.fdopen(fd, "wb") as out:
            form = _UploadForm(out, cap)
            fields = await form.read(request)
        filename = form.filename
        missing = [f for f in ("name", "contract") if f not in fields]
        if filename is None:
            missing.insert(1, "file")
        if missing:
            raise InvalidInput(
                f"the form lacks {', '.join(missing)}: send name, file (the .onnx) and contract"
            )
        contract = model_service.parse_contract(fields["contract"])
        model = await run_in_threadpool(
            model_service.register_onnx,
            ctx,
            fields["name"].strip(),
            upload,
            contract,
            filename=filename,
            move=True,
        )
    finally:
        upload.unlink(missing_ok=True)
    return ModelOut.from_model(model)


@router.post("/remote", response_model=ModelOut, status_code=status.HTTP_201_CREATED)
def register_remote(ctx: Context, body: RemoteModelCreate) -> ModelOut:
    """Register a Label Studio ML backend (as ``labelloop model register --remote``) after
    checking its /health; class names default to what its /setup lists. An endpoint that does
    not answer is refused (422) with the reason."""
    settings = model_service.RemoteSettings(
        url=body.url,
        timeout_s=body.timeout_s,
        retries=body.retries,
        batch_size=body.batch_size,
        image_transport=body.image_transport,
    )
    model = model_service.register_remote(
        ctx, body.name.strip(), settings, body.task_type, body.class_names
    )
    return ModelOut.from_model(model)


@router.get("/{model_ref}", response_model=ModelOut)
def show_model(ctx: Context, model_ref: str) -> ModelOut:
    """A model by id, NAME (latest version) or NAME:VERSION."""
    return ModelOut.from_model(model_service.get_model(ctx, model_ref))


@router.get("/{model_ref}/export", response_class=FileResponse)
def export_model(ctx: Context, model_ref: str) -> FileResponse:
    """A local model as a zip of ``model.onnx`` + ``contract.json`` (as ``labelloop model
    export``); models trained here are exported to ONNX first. Remote models: 422."""
    return zip_download(
        lambda workdir: model_service.export_archive(ctx, model_ref, workdir),
        parent=model_service.work_folder(ctx),
    )


@router.delete("/{model_ref}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(ctx: Context, model_ref: str) -> Response:
    """Delete a model version (id or NAME:VERSION; NAME alone: its latest) and its files.
    Refused (409) while a queued or running pre-label task uses it."""
    model_service.delete_model(ctx, model_ref)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- the upload ------------------------------------------------------------------------------


def _too_large(cap: int) -> str:
    return (
        f"the ONNX file is larger than {cap / 1024**3:g} GiB; register it on the server with "
        "labelloop model register NAME --onnx FILE --contract contract.json"
    )


class _UploadForm:
    """Parses a multipart form as it streams in: the ``file`` part goes to ``out`` in chunks
    (never held in memory whole, refused past ``cap`` bytes); ``name`` and ``contract`` (text,
    or a small file) are kept; any other field is refused."""

    def __init__(self, out, cap: int):
        self.out = out
        self.cap = cap
        self.fields: dict[str, bytearray] = {}
        self.filename: str | None = None  # the uploaded file's own name, once its part began
        self.file_bytes = 0
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._headers: dict[bytes, bytes] = {}
        self._header = self._value = b""
        self._part: str | None = None

    async def read(self, request: Request) -> dict[str, str]:
        _, params = parse_options_header(request.headers.get("content-type", ""))
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        boundary = params.get(b"boundary")
        if kind != "multipart/form-data" or not boundary:
            raise InvalidInput("send a multipart/form-data form with name, file and contract")
        parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if self._pending_bytes >= _WRITE_CHUNK:
                    await run_in_threadpool(self._flush)
            parser.finalize()
        except FormParserError as exc:
            raise InvalidInput(f"the multipart form is malformed: {exc}") from None
        await run_in_threadpool(self._flush)
        texts = {}
        for name, data in self.fields.items():
            try:
                texts[name] = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"the form field {name!r} is not UTF-8 text") from None
        return texts

    def _flush(self) -> None:
        self.out.write(b"".join(self._pending))
        self._pending.clear()
        self._pending_bytes = 0

    def _part_begin(self) -> None:
        self._headers = {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header.lower()] = self._value
        self._header = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == "file":
            if self.filename is not None:
                raise InvalidInput("upload one ONNX file")
            sent = options.get(b"filename", b"").decode("utf-8", "replace")
            self.filename = Path(sent.replace("\\", "/")).name or "model.onnx"
        elif name in _FIELDS:
            if name in self.fields:
                raise InvalidInput(f"the form field {name!r} is given twice")
            self.fields[name] = bytearray()
        else:
            raise InvalidInput(f"unknown form field {name!r}: send name, file and contract")
        self._part = name

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        size = end - start
        if self._part == "file":
            self.file_bytes += size
            if self.file_bytes > self.cap:
                raise HTTPException(413, _too_large(self.cap))
            self._pending.append(bytes(data[start:end]))
            self._pending_bytes += size
        elif self._part is not None:
            field = self.fields[self._part]
            if len(field) + size > _MAX_FIELD_BYTES:
                raise InvalidInput(f"the form field {self._part!r} is over 1 MiB")
            field.extend(data[start:end])

    def _part_end(self) -> None:
        self._part = None
