"""Running registered models for pre-labeling: arrays and file paths in, arrays out.

- ``contract``: ``ModelContract``, how a local ONNX model is fed and what it answers.
- ``onnx_model``: ``OnnxModel`` runs an ONNX file under its contract (classification
  probabilities, or boxes in original image pixels); ``check()`` verifies the contract.
- ``remote``: ``RemoteModelClient`` for Label Studio ML backends (``/health``, ``/predict``).
- ``image_server``: ``ImageServer`` (job-scoped loopback URLs) and ``data_uri`` to hand images
  to a remote model.
- ``confidence``: hard-example flags from a model's own scores.

Exceptions::

    ContractError (ValueError)        a contract that is malformed in itself
    ModelMismatch (ValueError)        a file that is not ONNX, or a model breaking its contract
    RemoteModelError                  a remote model failed
    ├── RemoteUnavailable             down, timed out, or 5xx after the retries
    └── RemoteAnswerInvalid           4xx, not JSON, or JSON of the wrong shape

Nothing is imported here: ``import labelloop.ml.runtime.contract`` loads neither ONNX Runtime
nor httpx.
"""
