"""Map a model's class names to a dataset's labels (design section 5).

Each model class is matched, in this order, by:
1. the explicit mapping (``--map model_class=dataset_label``): what a person asked for wins over
   any automatic match;
2. the exact name;
3. the name ignoring case (``Cat`` -> ``cat``), when exactly one label matches that way.

Several classes may map to one label (their scores add up). Classes that map to nothing and
labels that no class maps to are both reported, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from labelloop.domain import InvalidInput


@dataclass(frozen=True)
class LabelMapping:
    to_label: dict[str, str]  # model class -> dataset label, for the classes that map
    how: dict[str, str]  # model class -> "explicit" | "exact" | "case-insensitive"
    unmapped_classes: tuple[str, ...]  # model classes that map to no dataset label
    ambiguous_classes: dict[str, list[str]]  # class -> labels it matches ignoring case
    labels_without_class: tuple[str, ...]  # dataset labels no model class maps to

    def to_dict(self) -> dict:
        return {
            "mapping": dict(self.to_label),
            "matched_by": dict(self.how),
            "unmapped_model_classes": list(self.unmapped_classes),
            "ambiguous_model_classes": {k: list(v) for k, v in self.ambiguous_classes.items()},
            "labels_without_model_class": list(self.labels_without_class),
        }


def resolve_mapping(
    class_names: Sequence[str],
    dataset_labels: Sequence[str],
    explicit: Mapping[str, str] | None = None,
) -> LabelMapping:
    """Raises InvalidInput when the explicit mapping names an unknown class or label, or when
    no class maps to any label (the job would have nothing to propose)."""
    explicit = dict(explicit or {})
    _check_explicit(explicit, class_names, dataset_labels)
    by_folded: dict[str, list[str]] = {}
    for label in dataset_labels:
        by_folded.setdefault(label.casefold(), []).append(label)
    labels = set(dataset_labels)
    to_label: dict[str, str] = {}
    how: dict[str, str] = {}
    ambiguous: dict[str, list[str]] = {}
    for name in class_names:
        if name in explicit:
            to_label[name], how[name] = explicit[name], "explicit"
        elif name in labels:
            to_label[name], how[name] = name, "exact"
        elif len(by_folded.get(name.casefold(), [])) == 1:
            to_label[name], how[name] = by_folded[name.casefold()][0], "case-insensitive"
        elif by_folded.get(name.casefold()):
            ambiguous[name] = list(by_folded[name.casefold()])
    unmapped = tuple(name for name in class_names if name not in to_label)
    targets = set(to_label.values())
    without = tuple(label for label in dataset_labels if label not in targets)
    if not to_label:
        raise InvalidInput(
            f"none of the model's classes ({_names(class_names)}) matches a label of the dataset "
            f"({_names(dataset_labels)}); map classes to labels explicitly (--map CLASS=LABEL "
            "on the command line, label_map in the API, the class list in the web dialog)"
        )
    return LabelMapping(to_label, how, unmapped, ambiguous, without)


def _check_explicit(
    explicit: dict[str, str], class_names: Sequence[str], dataset_labels: Sequence[str]
) -> None:
    problems = []
    for source, target in explicit.items():
        if source not in class_names:
            problems.append(
                f"mapping {source} -> {target}: the model has no class {source!r} "
                f"(its classes: {_names(class_names)})"
            )
        if target not in dataset_labels:
            problems.append(
                f"mapping {source} -> {target}: the dataset has no label {target!r} "
                f"(its labels: {_names(dataset_labels)})"
            )
    if problems:
        raise InvalidInput("; ".join(problems))


def _names(names: Sequence[str], limit: int = 20) -> str:
    shown = ", ".join(names[:limit])
    return (
        shown + (f", ... ({len(names)} in all)" if len(names) > limit else "") if names else "none"
    )
