"""Measures the latency of a VAE decoder in each deployment runtime.

Times `z -> mean of p(x|z)` at batch sizes 1 and 64 with: Keras `predict`,
a direct call `decoder(z)`, a `tf.function`, the `decode` signature of the
SavedModel from `keras_vae.export.export_saved_model`, and the TFLite files
from `keras_vae.export.export_tflite_decoder` (float32, float16,
dynamic-range and int8) in the LiteRT interpreter, where a call is
`set_tensor` + `invoke` + `get_tensor`. Every call returns a NumPy array.
Prints a markdown table (medians and 90th percentiles in ms, artifact sizes,
and the largest difference from Keras) and writes it to `--output`.

Usage:

```shell
# From the repository root; trains 2 epochs on the MNIST sample:
python -m benchmarks.serving.decoder_latency
python -m benchmarks.serving.decoder_latency --model mnist_vae.keras
```
"""

import argparse
import datetime
import importlib.metadata
import os
import platform
import shutil
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import keras_vae
from benchmarks.machine import machine
from keras_vae.export import export_saved_model
from keras_vae.export import export_tflite_decoder

BATCH_SIZES = (1, 64)
QUANTIZATIONS = (None, "float16", "dynamic_range", "int8")


def train_vae(epochs):
    (x_train, _), _ = keras_vae.datasets.load_mnist(embedded=True)
    keras.utils.set_random_seed(0)
    vae = keras_vae.build_mlp_vae(input_shape=(28, 28, 1), latent_dim=20)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x_train, epochs=epochs, batch_size=128, verbose=0)
    return vae


def time_calls(fn, z, repeats, warmup):
    """Returns the median and 90th percentile of `fn(z)`, in ms."""
    for _ in range(warmup):
        fn(z)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(z)
        times.append(time.perf_counter() - start)
    return 1e3 * np.median(times), 1e3 * np.percentile(times, 90)


def tflite_runner(path, input_shape, num_threads):
    interpreter = Interpreter(model_path=path, num_threads=num_threads)
    input_index = interpreter.get_input_details()[0]["index"]
    output_index = interpreter.get_output_details()[0]["index"]
    interpreter.resize_tensor_input(input_index, input_shape)
    interpreter.allocate_tensors()

    def run(z):
        interpreter.set_tensor(input_index, z)
        interpreter.invoke()
        return interpreter.get_tensor(output_index)

    return run


def directory_size(path):
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(path)
        for name in names
    )


def versions():
    packages = ("tensorflow", "keras", "ai-edge-litert", "numpy")
    return ", ".join(
        [f"Python {platform.python_version()}"]
        + [f"{p} {importlib.metadata.version(p)}" for p in packages]
    )


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.serving.decoder_latency",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument("--model", help="A `.keras` VAE; else train one.")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--num-threads",
        type=int,
        default=os.cpu_count(),
        help="Threads of the LiteRT interpreter (TF uses all cores).",
    )
    parser.add_argument(
        "--output", default="docs/benchmarks/deployment_benchmark.md"
    )
    args = parser.parse_args(argv)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    if args.model:
        vae = keras.saving.load_model(args.model)
    else:
        vae = train_vae(args.epochs)
    decoder = keras.Model(
        vae.decoder.input, vae.likelihood.mean(vae.decoder.output)
    )
    compiled = tf.function(decoder)

    work_dir = tempfile.mkdtemp(prefix="decoder_latency-")
    version_dir = export_saved_model(vae, os.path.join(work_dir, "vae"))
    decode_signature = tf.saved_model.load(version_dir).signatures["decode"]
    tflite_paths = {
        q: export_tflite_decoder(
            vae, os.path.join(work_dir, f"decoder_{q}.tflite"), q
        )
        for q in QUANTIZATIONS
    }

    def runners(batch_size):
        z_shape = (batch_size,) + vae.latent_shape
        yield (
            "Keras `decoder.predict(z)`",
            None,
            lambda z: decoder.predict(z, batch_size=batch_size, verbose=0),
        )
        yield (
            "Keras direct call `decoder(z)`",
            None,
            lambda z: np.asarray(decoder(z, training=False)),
        )
        yield "`tf.function(decoder)`", None, lambda z: compiled(z).numpy()
        yield (
            "SavedModel `decode` signature (whole VAE)",
            directory_size(version_dir),
            lambda z: decode_signature(z=tf.constant(z))["x_mean"].numpy(),
        )
        for q, path in tflite_paths.items():
            yield (
                f"TFLite {q or 'float32'}",
                os.path.getsize(path),
                tflite_runner(path, z_shape, args.num_threads),
            )

    rows = {}
    rng = np.random.default_rng(0)
    for batch_size in BATCH_SIZES:
        z = rng.standard_normal((batch_size,) + vae.latent_shape)
        z = z.astype("float32")
        reference = vae.decode(z)
        for name, size, fn in runners(batch_size):
            median, p90 = time_calls(fn, z, args.repeats, args.warmup)
            error = float(np.abs(fn(z) - reference).max())
            row = rows.setdefault(name, {"size": size, "error": 0.0})
            row[batch_size] = (median, p90)
            row["error"] = max(row["error"], error)
            print(f"batch {batch_size:>2} {name}: {median:.3f} ms")

    table = [
        "| Runtime | Size (KB) | Batch 1 median (ms) | Batch 1 p90 (ms) "
        "| Batch 64 median (ms) | Batch 64 p90 (ms) | Max abs diff vs Keras |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        size = "–" if row["size"] is None else f"{row['size'] / 1024:.0f}"
        cells = [name, size]
        for batch_size in BATCH_SIZES:
            cells += [f"{t:.3f}" for t in row[batch_size]]
        cells.append(f"{row['error']:.1e}")
        table.append("| " + " | ".join(cells) + " |")
    table = "\n".join(table)
    shutil.rmtree(work_dir)

    command = " ".join(
        ["python", "-m", "benchmarks.serving.decoder_latency"]
        + (argv if argv is not None else sys.argv[1:])
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    model = args.model or f"build_mlp_vae(latent_dim=20), {args.epochs} epochs"
    document = f"""# Decoder latency by deployment runtime

Latency of a VAE decoder, `z` of shape {vae.latent_shape} -> the mean of
p(x|z) of shape {vae.data_shape}, per call, from NumPy in to NumPy out.

- Command: `{command}`
- Date: {now:%Y-%m-%d %H:%M} UTC
- Machine: {machine()}
- Load average at the start: {load} (other jobs may share the machine;
  read the numbers as indicative)
- Versions: {versions()}
- Model: {model}
- Timing: {args.repeats} calls after {args.warmup} warm-up calls, per row
  and batch size; LiteRT with `num_threads={args.num_threads}`

{table}

Sizes are those of the `.tflite` file, or of the SavedModel directory (all
five signatures, the encoder included, and the warm-up requests). The last
column is the largest absolute difference from the Keras decoder over both
batch sizes.

`predict` builds a data pipeline on every call: it is for large arrays, not
for single requests. The SavedModel row is the in-process cost of the
signature that TF Serving runs; a served request adds the network and
(de)serialization on top.
"""
    print("\n" + table)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(document)
    print(f"\nWrote {args.output}.")


if __name__ == "__main__":
    main()
