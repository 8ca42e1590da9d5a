"""Hard examples: which predictions a person should check, how hard each is, and why.

Pure functions over arrays in the spirit of cleanlab (keyword-only options, input checks at the
public boundary raising ValueError, named constants for the rules). Reason codes follow
ModelArts' SDK: 0 no object found, 1 low confidence, 2 neighbours/clusters disagree with the
prediction, 3 far from the labeled images of the predicted class, 4 unstable under test-time
augmentation, 5 resolution shift (detection adds its own codes from 10 on).

Classification API::

    score_classification_hardness(*, head_factory, X_labeled, y_labeled, X_scored,
        X_scored_flipped=None, X_scored_original=None, fitted_head=None,
        unlabeled_for_cv=None, target_precision=0.98, n_folds=5, random_state=0)
        -> HardnessResult
        # one call for a job: cross-validates the head on the labeled images, predicts the
        # scored ones and scores them.
    score_hardness(proba, *, oof_proba, oof_targets, augmented_probas=(), embeddings=None,
        labeled_embeddings=None, labeled_targets=None, classes=None, target_precision=0.98,
        n_neighbours=5) -> HardnessResult
        # the pure function underneath, for callers that already have the probabilities.
    choose_threshold(hardness, confidence, *, target_precision) -> (threshold, is_hard)
    HardnessResult: predicted, confidence (calibrated), hard_coefficient in [0, 1], is_hard,
        reasons [(code, text), ...] per image, threshold, temperature,
        estimated_precision_not_hard, estimated_accuracy, target_precision, cv_accuracy
    HardReason (IntEnum of the codes), REASON_TEXT

The hard coefficient is the estimated probability that the prediction is wrong (1 minus the
confidence after temperature scaling fitted on out-of-fold predictions of the labeled images).
The flag threshold is derived from the data: the largest one whose not-hard set keeps an
estimated precision of ``target_precision``; ``estimated_precision_not_hard`` is that estimate,
which a smart-labeling loop can use as its stop rule.
"""

# Re-exports ("X as X"): classification (_classification, _job, _reasons, _threshold)
# and detection (detection.py, _detection_reasons).
from labelloop.ml.hard._classification import (
    DEFAULT_TARGET_PRECISION as DEFAULT_TARGET_PRECISION,
)
from labelloop.ml.hard._classification import FAR_QUANTILE as FAR_QUANTILE
from labelloop.ml.hard._classification import LOW_MARGIN as LOW_MARGIN
from labelloop.ml.hard._classification import N_NEIGHBOURS as N_NEIGHBOURS
from labelloop.ml.hard._classification import HardnessResult as HardnessResult
from labelloop.ml.hard._classification import score_hardness as score_hardness
from labelloop.ml.hard._detection_reasons import DetectionHardType as DetectionHardType
from labelloop.ml.hard._detection_reasons import DetectionReason as DetectionReason
from labelloop.ml.hard._job import score_classification_hardness as score_classification_hardness
from labelloop.ml.hard._reasons import REASON_TEXT as REASON_TEXT
from labelloop.ml.hard._reasons import HardReason as HardReason
from labelloop.ml.hard._threshold import choose_threshold as choose_threshold
from labelloop.ml.hard.detection import Candidates as Candidates
from labelloop.ml.hard.detection import DetectionHardness as DetectionHardness
from labelloop.ml.hard.detection import DetectionHardnessStats as DetectionHardnessStats
from labelloop.ml.hard.detection import detection_hardness as detection_hardness
