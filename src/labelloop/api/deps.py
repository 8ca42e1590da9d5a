"""Dependencies of the routes, as ``Annotated`` aliases: ``def route(ctx: Context, ...)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request

from labelloop.domain import Dataset
from labelloop.services import datasets
from labelloop.services.context import AppContext

# Starts the worker process of a queued job (jobs.runner.spawn_worker unless a test swaps it).
WorkerStarter = Callable[[AppContext, int], object]


def get_context(request: Request) -> AppContext:
    return request.app.state.context


Context = Annotated[AppContext, Depends(get_context)]


def get_dataset(
    ctx: Context,
    dataset_id: Annotated[str, Path(description="Dataset id (or its name)")],
) -> Dataset:
    # Ids are what the UI and ModelArts-style clients use; a name is handier with curl.
    ref: int | str = int(dataset_id) if dataset_id.isdigit() else dataset_id
    return datasets.get_dataset(ctx, ref)


DatasetInPath = Annotated[Dataset, Depends(get_dataset)]


def get_worker_starter(request: Request) -> WorkerStarter:
    return request.app.state.start_worker


StartWorker = Annotated[WorkerStarter, Depends(get_worker_starter)]
