"""The one place where errors become HTTP responses.

Every error body is ``{"error": <code>, "message": <text>}`` plus, where it applies,
``reasons`` (each failed smart-labeling precondition) or ``job_id`` (the job in the way).
Routes raise domain errors (domain/errors.py) and never build error responses themselves.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from labelloop.domain import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    InvalidTransition,
    JobConflict,
    LabelloopError,
    NotFound,
    PreconditionFailed,
    WrongTaskType,
)

log = logging.getLogger(__name__)

# Most specific first: the first class an error is an instance of decides.
STATUS_OF: tuple[tuple[type[LabelloopError], int, str], ...] = (
    (NotFound, 404, "not_found"),
    (AlreadyExists, 409, "already_exists"),
    (WrongTaskType, 422, "wrong_task_type"),
    (InvalidInput, 422, "invalid_input"),
    (InvalidTransition, 409, "invalid_transition"),
    (PreconditionFailed, 409, "precondition_failed"),
    (JobConflict, 409, "job_conflict"),
    (Conflict, 409, "conflict"),
    (LabelloopError, 400, "error"),
)

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}


def status_of(exc: LabelloopError) -> tuple[int, str]:
    for kind, status, code in STATUS_OF:
        if isinstance(exc, kind):
            return status, code
    return 400, "error"  # pragma: no cover - LabelloopError is the last entry


async def _domain_error(_request: Request, exc: LabelloopError) -> JSONResponse:
    status, code = status_of(exc)
    if isinstance(exc, PreconditionFailed):
        body = error_body(code, "smart labeling cannot start", reasons=exc.reasons)
    elif isinstance(exc, JobConflict):
        body = error_body(code, str(exc), job_id=exc.job_id)
    else:
        body = error_body(code, str(exc))
    return JSONResponse(body, status_code=status)


async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [_describe(e) for e in exc.errors()]
    return JSONResponse(
        error_body("invalid_request", "; ".join(problems), reasons=problems), status_code=422
    )


def _describe(error: dict) -> str:
    where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
    return f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid")


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return JSONResponse(
        error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
    )


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(
        error_body("internal_error", f"{type(exc).__name__}: the server failed; see its log"),
        status_code=500,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(LabelloopError, _domain_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
