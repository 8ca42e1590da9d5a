"""Object detection for smart labeling: few-shot detector, calibration, hard examples.

Arrays in, arrays out: file paths and boxes go in, boxes, scores and hard-example types come
out. Importing this package loads neither torch nor a model.

API::

    trainer = DetectorTrainer(cache_dir, feature_cache_dir=None, settings=DetectorSettings())
    detector = trainer.fit(
        images,            # list of image paths
        boxes,             # per image: [(label_index, x, y, w, h), ...], pixels of the
                           # displayed (EXIF-rotated) image
        n_classes,
        unlabeled=(),      # image paths; pseudo-labels if settings.use_unlabeled (off)
        progress=None,     # progress(done, total), called per training step / image
        should_cancel=None # () -> bool; checked every step, raises ml.features.Cancelled
    )                      # -> TrainedDetector; ValueError names a bad box / image
    detector.metrics       # cross-validated: ap50_estimate, show_threshold,
                           # precision_at_show, recall_at_show, hint_threshold, ...
    results = detector.predict(paths, progress=None, should_cancel=None)
    # -> list[DetectionResult]: boxes (k, 4) x,y,w,h pixels, labels, calibrated scores,
    #    hint_boxes/labels/scores (likely objects without a box), hard_type
    #    ("none" | "false_detection" | "missed_detection"), hard_coefficient in [0, 1],
    #    hard_reasons [(code, text)], doubtful (indices of boxes a false detection is about),
    #    error (None, or why the image could not be read)
    detector.save(folder); TrainedDetector.load(folder, cache_dir=...)  # npz + JSON, no pickle
    detector.export_onnx(path)  # contract in ``_export``: input "images" (n,3,S,S) float32
                                # (x-127)/128 letterboxed top-left; outputs boxes (n,m,4)
                                # xyxy input pixels, scores (n,m), labels (n,m)

Design (details in each module): frozen EfficientNet-Lite0 pyramid (strides 8/16/32) computed
once per image and view in ONNX Runtime (``_features``); a small FPN + FCOS-style head trained
on those features with flip / scale / window augmentation (``_head``, ``_targets``,
``_train``); input size chosen from the labeled box sizes (``_validation``); scores calibrated
and thresholds chosen on cross-validation folds of the labeled images (``_calibration``);
hard-example typing in ``labelloop.ml.hard.detection``; box geometry, NMS, matching and VOC AP
in ``boxes``.
"""

from labelloop.ml.detect.boxes import (
    batched_nms,
    iou_matrix,
    match_boxes,
    mean_average_precision,
    nms,
    voc_average_precision,
)

# The detector modules import ``ml.hard.detection``, which imports ``boxes`` from here: loading
# them on first use (PEP 562) keeps that from being an import cycle.
_LAZY = {
    "DetectionResult": "labelloop.ml.detect.detector",
    "DetectorMeta": "labelloop.ml.detect.detector",
    "TrainedDetector": "labelloop.ml.detect.detector",
    "DetectorSettings": "labelloop.ml.detect.trainer",
    "DetectorTrainer": "labelloop.ml.detect.trainer",
    "prune_feature_cache": "labelloop.ml.detect._features",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "DetectionResult",
    "DetectorMeta",
    "DetectorSettings",
    "DetectorTrainer",
    "TrainedDetector",
    "batched_nms",
    "iou_matrix",
    "match_boxes",
    "mean_average_precision",
    "nms",
    "prune_feature_cache",
    "voc_average_precision",
]
