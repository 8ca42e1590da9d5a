"""Import (by upload or server path) and export (as a zip download)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse

from labelloop.services import exporting, importing, transfer

from ..deps import Context, DatasetInPath
from ..downloads import zip_download
from ..schemas import ImportPathIn, ImportReportOut

router = APIRouter(prefix="/datasets/{dataset_id}", tags=["import and export"])


@router.post("/imports", response_model=ImportReportOut)
def import_upload(
    dataset: DatasetInPath,
    ctx: Context,
    files: Annotated[
        list[UploadFile], File(description="Image files (a folder), or one .zip archive")
    ],
    format: Annotated[str, Form(description="auto, folder, imagenet, coco, voc, ...")] = "auto",
) -> ImportReportOut:
    """Import uploaded files; the report lists every file skipped and why."""
    uploads = [transfer.Upload(f.filename or "", f.file) for f in files]
    report = transfer.import_uploads(ctx, dataset.name, uploads, format_name=format)
    return ImportReportOut.model_validate(report.to_dict())


@router.post("/imports/path", response_model=ImportReportOut)
def import_server_path(dataset: DatasetInPath, ctx: Context, body: ImportPathIn) -> ImportReportOut:
    """Import a folder or .zip that is already on the server (as ``labelloop import`` does)."""
    report = importing.import_path(ctx, dataset.name, Path(body.path), format_name=body.format)
    return ImportReportOut.model_validate(report.to_dict())


@router.get("/export", response_class=FileResponse)
def export_download(
    dataset: DatasetInPath,
    ctx: Context,
    format: Annotated[str, Query(description="folder, imagenet, coco, voc, yolo, ...")],
    state: Annotated[
        list[str] | None, Query(description="unlabeled, to_confirm, labeled (default: all)")
    ] = None,
) -> FileResponse:
    """The dataset exported in ``format``, as a zip; predictions travel with their scores.

    Images whose stored file is missing are left out; the header ``X-Labelloop-Missing-Files``
    counts them (the CLI's export lists them).
    """
    missing: list[tuple[str, str]] = []
    response = zip_download(
        lambda workdir: transfer.export_archive(
            ctx,
            dataset.name,
            workdir,
            format_name=format,
            states=exporting.parse_states(state),
            missing=missing,
        )
    )
    response.headers["X-Labelloop-Missing-Files"] = str(len(missing))
    return response
