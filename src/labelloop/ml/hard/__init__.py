# Detection hard examples (ml/hard/detection.py)
from labelloop.ml.hard._detection_reasons import (  # noqa: E402
    DetectionHardType,
    DetectionReason,
)
from labelloop.ml.hard.detection import (  # noqa: E402
    Candidates,
    DetectionHardness,
    DetectionHardnessStats,
    detection_hardness,
)
