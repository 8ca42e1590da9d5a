"""ModelArts manifest field names and values (design section 6)."""

from __future__ import annotations

SOURCE = "source"
USAGE = "usage"
ID = "id"
HARD = "hard"
HARD_COEFFICIENT = "hard-coefficient"
HARD_TYPE = "hard-type"
HARD_REASONS = "hard-reasons"
ANNOTATION = "annotation"

# inside one annotation
TYPE = "type"
NAME = "name"
ANNOTATED_BY = "annotated-by"
CREATION_TIME = "creation-time"
CONFIDENCE = "confidence"
ANNOTATION_LOC = "annotation-loc"
ANNOTATION_FORMAT = "annotation-format"

CLASSIFICATION = "modelarts/image_classification"
DETECTION = "modelarts/object_detection"
PASCAL_VOC = "PASCAL VOC"
HUMAN = "human"  # ModelArts' default when annotated-by is absent

USAGE_TRAIN = "TRAIN"
USAGE_INFERENCE = "INFERENCE"

MANIFEST_SUFFIX = ".manifest"
OUTPUT_MANIFEST = "output.manifest"
