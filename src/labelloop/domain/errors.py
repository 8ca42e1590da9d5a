"""Domain errors.

Every error labelloop raises on purpose derives from ``LabelloopError``; the CLI and the API map
them to messages and HTTP statuses in one place each.

    LabelloopError
    ├── NotFound              a dataset, image, label, job or model that does not exist
    ├── AlreadyExists         a unique name taken
    ├── InvalidInput          a value that breaks a rule (label name, box, task type, state)
    │   └── WrongTaskType     e.g. boxes for a classification dataset
    ├── InvalidTransition     an image state change design section 2 does not allow
    ├── PreconditionFailed    smart labeling cannot start (each reason listed)
    ├── JobConflict           a smart-labeling job of the dataset is already running
    └── Conflict              optimistic concurrency: somebody changed it first
"""

from __future__ import annotations


class LabelloopError(Exception):
    """Base of every error labelloop raises on purpose."""


class NotFound(LabelloopError):
    pass


class AlreadyExists(LabelloopError):
    pass


class InvalidInput(LabelloopError):
    pass


class WrongTaskType(InvalidInput):
    pass


class InvalidTransition(LabelloopError):
    pass


class PreconditionFailed(LabelloopError):
    """Smart labeling cannot start; ``reasons`` holds one message per failed condition."""

    def __init__(self, reasons: list[str]):
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


class JobConflict(LabelloopError):
    def __init__(self, message: str, job_id: int | None = None):
        self.job_id = job_id
        super().__init__(message)


class Conflict(LabelloopError):
    pass
