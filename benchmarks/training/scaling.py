"""How keras-vae's training scales with batch size and dataset size.

1. Batch size 32 ... 1024: samples per second of the 784-400-20 MLP VAE
   (package defaults), median of several epochs of one `fit` after a
   warm-up epoch.
2. Dataset size, in memory (a NumPy array) and streamed from TFRecord files
   with `tf.data`: seconds per epoch and the process's peak RSS (streamed,
   it should stay flat). Each run is
   its own process, so peak RSS is that run's alone. Larger sizes than
   MNIST's 60,000 repeat it with fresh noise (values stay in [0, 1]).

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.training.scaling

Run it from the repository root; each process of part 2 runs this module
again (`python -m benchmarks.training.scaling --worker ...`).

The table goes to docs/benchmarks/scaling.md.
"""

import argparse
import datetime
import json
import os
import subprocess
import tempfile
import time

import numpy as np

from benchmarks.machine import machine
from benchmarks.machine import module_command
from benchmarks.machine import peak_rss_mb
from benchmarks.machine import save_report
from benchmarks.machine import worker_env

#: This benchmark, as `python -m` runs it (its workers too).
MODULE = "benchmarks.training.scaling"


def images(size):
    import keras_vae

    (x, _), _ = keras_vae.datasets.load_mnist()
    rng = np.random.default_rng(0)
    parts = [x]
    while sum(len(p) for p in parts) < size:
        noise = rng.uniform(-0.05, 0.05, x.shape).astype("float32")
        parts.append(np.clip(x + noise, 0.0, 1.0))
    return np.concatenate(parts)[:size]


def write_tfrecords(x, directory, shard_size=10000):
    import tensorflow as tf

    pixels = np.round(x * 255).astype("uint8")
    for start in range(0, len(x), shard_size):
        path = os.path.join(directory, f"shard-{start // shard_size:05d}.tfr")
        with tf.io.TFRecordWriter(path) as writer:
            for image in pixels[start : start + shard_size]:
                writer.write(image.tobytes())


def streamed(directory, batch_size):
    import tensorflow as tf

    files = tf.data.Dataset.list_files(
        os.path.join(directory, "*.tfr"), shuffle=True, seed=0
    )

    def parse(record):
        image = tf.io.decode_raw(record, tf.uint8)
        return tf.reshape(tf.cast(image, tf.float32) / 255.0, (28, 28, 1))

    return (
        tf.data.TFRecordDataset(files, num_parallel_reads=2)
        .shuffle(10000, seed=0)
        .map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )


def epoch_seconds(vae, data, epochs, **kwargs):
    """Seconds of each epoch after the first (which compiles) of one
    `fit`, timed by a callback, as a user's run of many epochs goes."""
    import keras

    seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self.start)

    vae.fit(data, epochs=epochs + 1, verbose=0, callbacks=[Timer()], **kwargs)
    return seconds[1:]


def size_worker(size, directory, batch_size, epochs):
    """One process: trains on `size` examples, in memory, or streamed from
    the TFRecord files in `directory` (written by another process)."""
    import keras

    import keras_vae

    if directory:
        data, kwargs = streamed(directory, batch_size), {"shuffle": False}
    else:
        data, kwargs = images(size), {"batch_size": batch_size}
    vae = keras_vae.build_mlp_vae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    seconds = epoch_seconds(vae, data, epochs, **kwargs)
    rss = peak_rss_mb()
    print(json.dumps({"seconds": float(np.median(seconds[1:])), "rss": rss}))


def batch_rates(batch_sizes, epochs, limit):
    import keras

    import keras_vae

    x = images(limit)
    rows = []
    for batch_size in batch_sizes:
        keras.utils.set_random_seed(0)
        vae = keras_vae.build_mlp_vae()
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        seconds = epoch_seconds(vae, x, epochs, batch_size=batch_size)
        rows.append((batch_size, len(x) / float(np.median(seconds))))
        print(f"batch {batch_size}: {rows[-1][1]:.0f} samples/s", flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--worker", type=int, metavar="SIZE")
    parser.add_argument("--records", default="", metavar="DIR")
    parser.add_argument("--write", type=int, metavar="SIZE")
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="*",
        default=[32, 64, 128, 256, 512, 1024],
    )
    parser.add_argument(
        "--sizes",
        type=int,
        nargs="*",
        default=[15000, 60000, 240000, 480000],
    )
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--output", default="docs/benchmarks/scaling.md")
    args = parser.parse_args()
    if args.write:
        return write_tfrecords(images(args.write), args.records)
    if args.worker:
        return size_worker(args.worker, args.records, 128, 2)

    batch_rows = batch_rates(args.batch_sizes, args.epochs, 60000)
    size_rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as directory:
            script([f"--write={size}", f"--records={directory}"])
            for mode, records in (("in memory", ""), ("streamed", directory)):
                out = script([f"--worker={size}", f"--records={records}"])
                result = json.loads(out.strip().splitlines()[-1])
                size_rows.append((size, mode, result["seconds"], result["rss"]))
                print(size_rows[-1], flush=True)
    report(args, batch_rows, size_rows)


def script(arguments):
    return subprocess.run(
        module_command(MODULE, arguments),
        capture_output=True,
        text=True,
        check=True,
        env=worker_env(),
    ).stdout


def report(args, batch_rows, size_rows):
    lines = [
        "# Scaling of keras-vae training",
        "",
        f"Measured {datetime.datetime.now():%Y-%m-%d %H:%M} on {machine()}; "
        "784-400-20 MLP VAE, package defaults (`compile(optimizer=Adam(1e-3))`"
        ": XLA, 32 steps per execution).",
        "",
        "```bash",
        f"KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python -m {MODULE}",
        "```",
        "",
        "## Batch size (60,000 examples in memory, median of "
        f"{args.epochs} epochs)",
        "",
        "| batch size | samples/s |",
        "| ---: | ---: |",
    ]
    lines += [f"| {b} | {r:.0f} |" for b, r in batch_rows]
    lines += [
        "",
        "## Dataset size (batch 128, median of 2 epochs, one process each)",
        "",
        "| examples | data | seconds per epoch | peak RSS (MB) |",
        "| ---: | --- | ---: | ---: |",
    ]
    lines += [
        f"| {size} | {mode} | {seconds:.1f} | {rss:.0f} |"
        for size, mode, seconds, rss in size_rows
    ]
    lines += [
        "",
        "Streamed, the peak memory stays flat as the dataset grows (the "
        "TFRecord files are read through a 10,000-example shuffle buffer); "
        "in memory it grows with the array. Streaming costs time on 2 cores: "
        "decoding and shuffling records competes with the training step for "
        "the same cores. The machine is shared, so single rows can be off by "
        "up to a factor of two (a neighbour taking a core); "
        "docs/benchmarks/performance.md has the side-by-side medians.",
    ]
    save_report("\n".join(lines) + "\n", args.output)


if __name__ == "__main__":
    main()
