"""Pure domain rules: state machine, label/box validation, smart-labeling preconditions."""

from __future__ import annotations

import math

import pytest

from labelloop.domain import (
    Box,
    ImageState,
    InvalidInput,
    InvalidTransition,
    Job,
    JobKind,
    JobState,
)
from labelloop.domain.preconditions import require_smart_labeling, smart_labeling_problems
from labelloop.domain.rules import check_box, clip_box, validate_dataset_name, validate_label_name
from labelloop.domain.states import Action, next_state

U, T, L = ImageState.UNLABELED, ImageState.TO_CONFIRM, ImageState.LABELED


@pytest.mark.parametrize(
    ("state", "action", "expected"),
    [
        (U, Action.PUBLISH, T),
        (T, Action.CONFIRM, L),
        (U, Action.ANNOTATE, L),
        (T, Action.ANNOTATE, L),
        (T, Action.REJECT, U),
        (L, Action.CLEAR, U),
        (L, Action.UNCONFIRM, T),
    ],
)
def test_allowed_transitions(state, action, expected):
    assert next_state(state, action) is expected


@pytest.mark.parametrize(
    ("state", "action"),
    [
        (L, Action.PUBLISH),
        (U, Action.CONFIRM),
        (L, Action.CONFIRM),
        (U, Action.REJECT),
        (U, Action.UNCONFIRM),
        (T, Action.UNCONFIRM),
    ],
)
def test_forbidden_transitions_name_the_states(state, action):
    with pytest.raises(InvalidTransition, match=state.value):
        next_state(state, action)


def test_a_job_never_moves_a_labeled_image():
    with pytest.raises(InvalidTransition):
        next_state(L, Action.PUBLISH)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * 65, "limit"),
        ("<b>cat</b>", "not allowed"),
        ('say "hi"', "not allowed"),
        ("tab\there", "not allowed"),
    ],
)
def test_bad_label_names_are_refused_with_the_problem(name, problem):
    with pytest.raises(InvalidInput, match=problem):
        validate_label_name(name)


@pytest.mark.parametrize("name", ["cat", "t-shirt", "Blue Whale", "猫", "9/10", "x" * 64])
def test_fair_label_names_pass(name):
    assert validate_label_name(f"  {name} ") == name


def test_label_name_must_be_text():
    with pytest.raises(InvalidInput, match="text"):
        validate_label_name(3)


@pytest.mark.parametrize("name", ["", "has space", "-starts-with-dash", "a/b", "x" * 101])
def test_bad_dataset_names(name):
    with pytest.raises(InvalidInput):
        validate_dataset_name(name)


def test_clip_box_keeps_inside_part_and_drops_empty():
    assert clip_box(Box("a", -5, -5, 20, 20), 100, 100) == Box("a", 0, 0, 15, 15)
    assert clip_box(Box("a", 95, 10, 30, 10), 100, 100) == Box("a", 95, 10, 5, 10)
    assert clip_box(Box("a", 200, 200, 10, 10), 100, 100) is None
    assert clip_box(Box("a", 10, 10, 0, 10), 100, 100) is None
    assert clip_box(Box("a", math.nan, 10, 5, 5), 100, 100) is None


@pytest.mark.parametrize(
    ("box", "problem"),
    [
        (Box("a", 0, 0, 0, 5), "zero"),
        (Box("a", 0, 0, -3, 5), "zero"),
        (Box("a", 90, 0, 20, 5), "outside"),
        (Box("a", math.inf, 0, 2, 5), "finite"),
    ],
)
def test_check_box_refuses_wrong_boxes(box, problem):
    with pytest.raises(InvalidInput, match=problem):
        check_box(box, 100, 50)


def test_check_box_accepts_subpixel_overshoot():
    assert check_box(Box("a", -0.2, 0, 100.3, 50), 100, 50) == Box("a", 0, 0, 100, 50)


def test_preconditions_list_every_failure_with_label_and_count():
    job = Job(id=7, dataset_id=1, kind=JobKind.AUTO_LABEL, state=JobState.RUNNING)
    problems = smart_labeling_problems(
        labeled_per_label={"cat": 5, "dog": 3, "owl": 0},
        unlabeled_count=0,
        running_job=job,
    )
    text = "\n".join(problems)
    assert "'dog' has 3 labeled image(s)" in text
    assert "'owl' has 0" in text
    assert "'cat'" not in text
    assert "no unlabeled images" in text
    assert "job 7" in text and "running" in text
    assert len(problems) == 4


def test_preconditions_need_two_labels():
    problems = smart_labeling_problems(
        labeled_per_label={"cat": 9}, unlabeled_count=3, running_job=None
    )
    assert problems == ["the dataset has 1 label(s); smart labeling needs at least 2"]


def test_preconditions_pass_when_all_hold():
    require_smart_labeling(
        labeled_per_label={"cat": 5, "dog": 6}, unlabeled_count=1, running_job=None
    )
