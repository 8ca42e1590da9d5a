"""Image state machine of design section 2.

unlabeled --publish--> to_confirm --confirm--> labeled
unlabeled --annotate--> labeled
to_confirm --reject--> unlabeled
to_confirm --annotate--> labeled     (a person corrects the proposal: that is a confirmation)
labeled --annotate--> labeled        (edit)
labeled --clear--> unlabeled         (a person removes their own label)
A job never moves a labeled image.
"""

from __future__ import annotations

from enum import StrEnum

from .entities import ImageState
from .errors import InvalidTransition


class Action(StrEnum):
    PUBLISH = "publish"
    CONFIRM = "confirm"
    ANNOTATE = "annotate"
    REJECT = "reject"
    CLEAR = "clear"
    UNCONFIRM = "unconfirm"  # undo of a confirmation: the proposal comes back


_U, _T, _L = ImageState.UNLABELED, ImageState.TO_CONFIRM, ImageState.LABELED

TRANSITIONS: dict[tuple[ImageState, Action], ImageState] = {
    (_U, Action.PUBLISH): _T,
    (_T, Action.PUBLISH): _T,  # a later job replaces an unconfirmed proposal
    (_T, Action.CONFIRM): _L,
    (_U, Action.ANNOTATE): _L,
    (_T, Action.ANNOTATE): _L,
    (_L, Action.ANNOTATE): _L,
    (_T, Action.REJECT): _U,
    (_L, Action.CLEAR): _U,
    (_L, Action.UNCONFIRM): _T,
}


def next_state(current: ImageState, action: Action) -> ImageState:
    try:
        return TRANSITIONS[(ImageState(current), Action(action))]
    except KeyError:
        raise InvalidTransition(
            f"cannot {action.value} an image that is {ImageState(current).value}"
        ) from None


def sources_of(action: Action) -> tuple[ImageState, ...]:
    """States from which ``action`` is allowed (used to build set-based updates)."""
    return tuple(src for (src, act) in TRANSITIONS if act == action)
