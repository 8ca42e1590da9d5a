"""From cached features to per-image candidates: run the head, NMS, back to image pixels.

The head runs in torch during training (cross-validation folds, pseudo-labels) and in ONNX
Runtime when a trained detector predicts; both go through ``candidates_for`` so they decode
identically.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from labelloop.ml.detect._features import Pyramid, View, boxes_from_view
from labelloop.ml.detect.boxes import batched_nms
from labelloop.ml.hard.detection import Candidates

# Raw scores under this are noise; dropping them first keeps NMS cheap (scores run low:
# true boxes often score 0.2-0.5 before calibration, so the floor must stay well below).
CANDIDATE_FLOOR = 0.03
NMS_IOU = 0.5
MAX_CANDIDATES = 200  # per image after NMS; bccd has up to 30 objects an image
_HEAD_BATCH = 16
_MIN_SIDE_PX = 1.0

# run(p8, p16, p32) -> (boxes (n, k, 4) view pixels, scores (n, k), labels (n, k))
HeadRunner = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, ...]]


def candidates_for(
    run: HeadRunner,
    pyramids: Sequence[Pyramid],
    image_sizes: Sequence[tuple[int, int]],
    input_size: int,
    view: View,
    *,
    score_map: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[Candidates]:
    """Candidates of each image in displayed-image pixels, after class-wise NMS; scores are
    raw unless ``score_map`` (a calibration) is given."""
    results: list[Candidates] = []
    for start in range(0, len(pyramids), _HEAD_BATCH):
        chunk = pyramids[start:start + _HEAD_BATCH]
        levels = [np.stack([p[level] for p in chunk]).astype(np.float32) for level in range(3)]
        boxes, scores, labels = run(*levels)
        for offset in range(len(chunk)):
            keep = scores[offset] >= CANDIDATE_FLOOR
            b, s, lab = boxes[offset][keep], scores[offset][keep], labels[offset][keep]
            b = boxes_from_view(b, image_sizes[start + offset], input_size, view)
            sized = ((b[:, 2] - b[:, 0]) >= _MIN_SIDE_PX) & ((b[:, 3] - b[:, 1]) >= _MIN_SIDE_PX)
            b, s, lab = b[sized], s[sized], lab[sized]
            kept = batched_nms(b, s, lab, NMS_IOU)[:MAX_CANDIDATES]
            s = s[kept].astype(np.float64)
            results.append(Candidates(b[kept], score_map(s) if score_map else s,
                                      lab[kept].astype(np.int64)))
    return results


def torch_runner(head) -> HeadRunner:
    import torch

    from labelloop.ml.detect._head import CandidateDecoder
    from labelloop.ml.detect._train import TRAIN_THREADS

    decoder = CandidateDecoder(head).eval()

    def run(p8: np.ndarray, p16: np.ndarray, p32: np.ndarray) -> tuple[np.ndarray, ...]:
        threads = torch.get_num_threads()
        torch.set_num_threads(TRAIN_THREADS)  # same reason as in training: small layers
        try:
            with torch.no_grad():
                out = decoder(torch.from_numpy(p8), torch.from_numpy(p16), torch.from_numpy(p32))
        finally:
            torch.set_num_threads(threads)
        return tuple(o.numpy() for o in out)

    return run


def onnx_runner(head) -> HeadRunner:
    """The head + candidate decoding exported in memory and run in ONNX Runtime."""
    import onnxruntime as ort
    import torch

    from labelloop.ml.detect._head import CandidateDecoder
    from labelloop.ml.features.efficientnet_lite import PYRAMID_CHANNELS

    decoder = CandidateDecoder(head).eval()
    example = tuple(torch.zeros(1, PYRAMID_CHANNELS[s], 256 // s, 256 // s) for s in (8, 16, 32))
    names = ["p8", "p16", "p32"]
    axes = {n: {0: "batch", 2: f"h{n}", 3: f"w{n}"} for n in names}
    axes.update({n: {0: "batch"} for n in ("boxes", "scores", "labels")})
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about shape-derived Python ints
        torch.onnx.export(decoder, example, buffer, input_names=names,
                          output_names=["boxes", "scores", "labels"], dynamic_axes=axes,
                          opset_version=17, dynamo=False)
    session = ort.InferenceSession(buffer.getvalue(), providers=["CPUExecutionProvider"])

    def run(p8: np.ndarray, p16: np.ndarray, p32: np.ndarray) -> tuple[np.ndarray, ...]:
        return tuple(session.run(None, {"p8": p8, "p16": p16, "p32": p32}))

    return run
