"""TF Serving warm-up requests, written into a SavedModel's assets."""

import os

import numpy as np
import tensorflow as tf

from keras_vae.utils.atomic import atomic_path

#: Where TF Serving looks for warm-up requests inside a version directory.
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def write_warmup_requests(export_dir, requests, model_name):
    """Writes TF Serving warm-up requests into a SavedModel directory.

    TF Serving replays the requests of
    `<export_dir>/assets.extra/tf_serving_warmup_requests` when it loads a
    version, before it serves traffic, so the first real request does not
    pay for lazy initialization. The file is a TFRecord of
    `tensorflow_serving.apis.prediction_log_pb2.PredictionLog` messages, one
    `PredictRequest` each, replaced atomically
    (`keras_vae.utils.atomic.atomic_path`).

    Args:
        export_dir: A SavedModel version directory, e.g.
            `"saved_models/mnist_vae/1"`.
        requests: A list of `(signature_name, inputs)` pairs, where `inputs`
            is a dict from input name to an array-like value.
        model_name: The model name the requests carry (TF Serving's
            `MODEL_NAME`).

    Returns:
        The path of the written file.

    Example:

    ```python
    write_warmup_requests(
        "saved_models/mnist_vae/1",
        [("encode", {"x": np.zeros((1, 28, 28, 1), "float32")})],
        model_name="mnist_vae",
    )
    ```
    """
    if not requests:
        raise ValueError(
            "Invalid value for argument `requests`: expected a non-empty "
            "list of `(signature_name, inputs)` pairs. "
            f"Received: requests={requests!r}"
        )
    path = os.path.join(export_dir, WARMUP_FILE)
    with atomic_path(path, overwrite=True) as temp:
        _write_requests(temp, requests, model_name)
    return path


def _write_requests(path, requests, model_name):
    from tensorflow_serving.apis import model_pb2
    from tensorflow_serving.apis import predict_pb2
    from tensorflow_serving.apis import prediction_log_pb2

    with tf.io.TFRecordWriter(path) as writer:
        for signature_name, inputs in requests:
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(
                    name=model_name, signature_name=signature_name
                )
            )
            for input_name, value in inputs.items():
                request.inputs[input_name].CopyFrom(
                    tf.make_tensor_proto(np.asarray(value))
                )
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)
            )
            writer.write(log.SerializeToString())
