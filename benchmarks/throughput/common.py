"""What every worker of `python -m benchmarks.throughput` shares: the
data, the residual network's sizes and the protocol with the parent (one
JSON line per command read on stdin)."""

import json
import os
import sys
import traceback

import numpy as np

from benchmarks.machine import peak_rss_mb

#: The residual VAE of the `resnet-cifar` rows, in every framework.
RESNET = {"filters": (32, 64, 128), "blocks_per_stage": 1, "latent_dim": 128}

#: Adam of every row: Keras's defaults but the learning rate, which the
#: PyTorch loops also use (PyTorch's own epsilon is 1e-8).
LEARNING_RATE, BETA_1, BETA_2, EPSILON = 1e-3, 0.9, 0.999, 1e-7


def load_data(model, limit):
    """MNIST in [0, 1], `(n, 28, 28, 1)` float32, for `mlp` and `conv`,
    else `limit` 32x32x3 uint8 images of random pixels.

    MNIST is read from `$KERAS_VAE_DATA_DIR/mnist.npz` as
    `keras_vae.datasets.load_mnist` reads it, without importing keras-vae
    (and so TensorFlow) into the PyTorch and JAX workers."""
    if model.endswith("cifar"):
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (limit, 32, 32, 3), dtype="uint8")
    directory = os.environ.get("KERAS_VAE_DATA_DIR")
    if directory:
        with np.load(os.path.join(directory, "mnist.npz")) as data:
            x = data["x_train"][:limit]
    else:  # Downloads and caches it.
        import keras

        (x, _), _ = keras.datasets.mnist.load_data()
        x = x[:limit]
    return (x.astype("float32") / 255.0)[..., None]


def one_line(error):
    """`"TypeName: first line of the message"`, at most 300 characters."""
    message = str(error).strip()
    line = (
        f"{type(error).__name__}: {message.splitlines()[0] if message else ''}"
    )
    return line[:300]


def run_worker(start, *args):
    """Runs `start(*args)`, answering an exception (at start-up or in an
    epoch) with one `{"error": ...}` line; the traceback goes to stderr."""
    try:
        start(*args)
    except Exception as error:  # noqa: BLE001 - reported to the parent.
        traceback.print_exc()
        print(json.dumps({"error": one_line(error)}), flush=True)
        sys.exit(1)


def serve(epoch, ready=None):
    """Runs epochs as the parent asks; the first one is the warm-up."""
    epoch()  # Warm-up: tracing, compilation, allocator.
    answer = {"ready": True, **(ready or {})}
    while serve_one(answer):
        rate, loss = epoch()
        answer = {"rate": rate, "loss": loss}


def serve_one(answer):
    """Prints `answer` and waits for the parent's next command: returns
    True for "epoch", answers "stats" itself, False at the end of input."""
    print(json.dumps(answer), flush=True)
    for line in sys.stdin:
        if line.strip() == "epoch":
            return True
        if line.strip() == "stats":
            print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)
    return False
