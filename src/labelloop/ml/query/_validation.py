"""Input checks at the public boundary of ``ml.query`` (shared with the other ``ml`` packages)."""

from __future__ import annotations

from labelloop.ml._checks import check_matrix, check_proba, check_vector

__all__ = ["check_matrix", "check_proba", "check_vector"]
