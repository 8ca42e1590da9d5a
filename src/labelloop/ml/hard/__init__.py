# Detection hard examples (ml/hard/detection.py); "X as X" marks them as re-exports.
from labelloop.ml.hard._detection_reasons import DetectionHardType as DetectionHardType
from labelloop.ml.hard._detection_reasons import DetectionReason as DetectionReason
from labelloop.ml.hard.detection import Candidates as Candidates
from labelloop.ml.hard.detection import DetectionHardness as DetectionHardness
from labelloop.ml.hard.detection import DetectionHardnessStats as DetectionHardnessStats
from labelloop.ml.hard.detection import detection_hardness as detection_hardness
