"""Training the conv VAE on a streamed CIFAR-10 folder against in memory.

The conv VAE that `keras-vae train --data FOLDER --image-size 32
--architecture conv` builds (`build_conv_vae((32, 32, 3), latent_dim=20,
hidden_units=(400,), preprocessing="8bit", seed=0)`: the CLI passes its
`--hidden-units` default of 400), compiled with `Adam(1e-3)`, trained by one
`model.fit` with batches of 128 on

- streamed: `keras_vae.datasets.image_folder(folder, image_size=(32, 32),
  channels=3, batch_size=128, labels=None, seed=0)`, every file read and
  decoded again every epoch;
- in memory: the same images decoded once into one uint8 NumPy array `x`,
  then `fit(x, batch_size=128)`.

For 10,000 and 25,000 (and, with `--sizes`, 50,000) images of the CIFAR-10
training folder (extracted from ../shared/data/cifar10-jpeg.tar.gz into a
temporary folder outside the repository, subsets made of hard links as
`benchmarks.training.streaming` makes them). Each data path trains in its own
worker process, so that its peak memory (VmHWM) is its own. A callback
times each epoch of the one `fit` and waits for the parent between epochs;
the first epoch (tracing, compilation, the input pipeline's set-up) is left
out, and the two workers then alternate, one epoch each, A B A B, so that
both see the same load of this shared machine. The table reports the
median epoch seconds of each, the median of the per-round ratios
streamed / in memory, and each worker's peak memory after its epochs.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.training.streaming_fit

Run it from the repository root; each worker runs this module again
(`python -m benchmarks.training.streaming_fit --worker ...`).

The table goes to docs/benchmarks/streaming_fit.md.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np

from benchmarks.machine import WorkerProcess
from benchmarks.machine import machine
from benchmarks.machine import peak_rss_mb
from benchmarks.machine import save_report
from benchmarks.training import streaming
from benchmarks.training.streaming import ARCHIVE
from benchmarks.training.streaming import extract
from benchmarks.training.streaming import subset

#: This benchmark, as `python -m` runs it (its workers too).
MODULE = "benchmarks.training.streaming_fit"

BATCH_SIZE = 128
IMAGE_SIZE = (32, 32)
#: `keras-vae train`'s `--hidden-units` default, which it passes to
#: `build_conv_vae` (whose own default is 256).
HIDDEN_UNITS = (400,)
MODES = ("streamed", "in memory")
#: The ratio streamed / in memory the issue asks for at most.
TARGET = 1.5


# --------------------------------------------------------------------------
# Worker: one data path, one `fit`; answers one JSON line per command.


def worker(mode, folder):
    import keras

    import keras_vae

    result = {}
    start = time.perf_counter()
    dataset = keras_vae.datasets.image_folder(
        folder,
        image_size=IMAGE_SIZE,
        channels=3,
        batch_size=BATCH_SIZE,
        labels=None,
        seed=0,
        shuffle=mode == "streamed",
    )
    result["check"] = time.perf_counter() - start
    n = len(dataset.file_paths)
    if mode == "in memory":
        start = time.perf_counter()
        x = np.empty((n, *IMAGE_SIZE, 3), dtype="uint8")
        i = 0
        for batch in dataset.as_numpy_iterator():
            x[i : i + len(batch)] = batch
            i += len(batch)
        assert i == n, (i, n)
        del dataset
        result["load"] = time.perf_counter() - start
        data, batch_size = x, BATCH_SIZE
    else:
        data, batch_size = dataset, None
    result.update(images=n, rss_before_fit=peak_rss_mb())

    keras.utils.set_random_seed(0)
    vae = keras_vae.build_conv_vae(
        (*IMAGE_SIZE, 3),
        latent_dim=20,
        hidden_units=HIDDEN_UNITS,
        preprocessing="8bit",
        seed=0,
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))

    class Serve(keras.callbacks.Callback):
        """Times each epoch of the one `fit` and waits for the parent
        between epochs; the first epoch answers only "ready"."""

        def on_epoch_begin(self, epoch, logs=None):
            self.cpu = cpu_seconds()
            self.start = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            if batch == 0:
                self.first_batch = time.perf_counter() - self.start

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start
            if epoch == 0:
                answer = {**result, "first": time.perf_counter() - fit_start}
            else:
                answer = {
                    "seconds": seconds,
                    "cpu": cpu_seconds() - self.cpu,
                    "first_batch": self.first_batch,
                    "loss": logs["loss"],
                }
            if not serve_one(answer):
                self.model.stop_training = True

    fit_start = time.perf_counter()
    vae.fit(
        data,
        batch_size=batch_size,
        epochs=10**6,
        verbose=0,
        callbacks=[Serve()],
        shuffle=mode == "in memory",  # As the CLI: a dataset shuffles itself.
    )


def cpu_seconds():
    """User + system CPU seconds of this process, all its threads."""
    times = os.times()
    return times.user + times.system


def serve_one(answer):
    """Prints `answer` and waits for the parent's next command: True for
    "epoch", answers "stats" itself, False at the end of input."""
    print(json.dumps(answer), flush=True)
    for line in sys.stdin:
        if line.strip() == "epoch":
            return True
        if line.strip() == "stats":
            print(json.dumps({"rss": peak_rss_mb()}), flush=True)
    return False


class Worker(WorkerProcess):
    def __init__(self, mode, folder):
        super().__init__(
            MODULE,
            ["--worker", mode, "--folder", folder],
            close_timeout=120,
        )


# --------------------------------------------------------------------------


def measure(folder, size, rounds, loads):
    """Both workers on `folder`, `rounds` alternating epochs each."""
    workers = {}
    for mode in MODES:  # One at a time: each warms up alone.
        workers[mode] = Worker(mode, folder)
        assert workers[mode].ready["images"] == size, workers[mode].ready
    epochs = {mode: [] for mode in MODES}
    for r in range(rounds):
        for mode in MODES:  # A B A B ...
            epochs[mode].append(workers[mode].ask("epoch"))
        loads.append(os.getloadavg()[0])
        print(
            f"{size} round {r + 1}: "
            + ", ".join(
                f"{m} {epochs[m][-1]['seconds']:.1f} s (CPU "
                f"{epochs[m][-1]['cpu']:.1f} s, first batch "
                f"{epochs[m][-1]['first_batch']:.1f} s)"
                for m in MODES
            )
            + f", load {loads[-1]:.1f}",
            flush=True,
        )
    rows = {}
    for mode, worker in workers.items():
        rows[mode] = {
            **worker.ready,
            **worker.ask("stats"),
            **{
                key: [e[key] for e in epochs[mode]]
                for key in ("seconds", "cpu", "first_batch")
            },
            "loss": epochs[mode][-1]["loss"],
        }
        worker.close()
    ratios = [
        s / m
        for s, m in zip(
            rows["streamed"]["seconds"], rows["in memory"]["seconds"]
        )
    ]
    return {"size": size, "rows": rows, "ratios": ratios}


def main():
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--worker", choices=MODES)
    parser.add_argument("--folder")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[10000, 25000, 50000]
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--minutes",
        type=float,
        default=15,
        help="Skip a size whose projected time (the last size's, scaled by "
        "the number of images) would end the run after this many minutes.",
    )
    parser.add_argument("--archive", default=ARCHIVE)
    parser.add_argument("--output", default="docs/benchmarks/streaming_fit.md")
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker, args.folder)

    start = time.perf_counter()
    loads = [os.getloadavg()[0]]
    results, skipped = [], []
    with tempfile.TemporaryDirectory(prefix="cifar10-jpeg-") as directory:
        train = extract(args.archive, directory)
        print(f"extracted in {time.perf_counter() - start:.1f} s", flush=True)
        base = streaming.run(["--baseline"])["rss"]
        for size in args.sizes:
            elapsed = time.perf_counter() - start
            if results:
                projected = results[-1]["wall"] * size / results[-1]["size"]
                if elapsed + projected > args.minutes * 60:
                    print(f"skipped {size}: {projected:.0f} s projected")
                    skipped.append((size, projected))
                    continue
            folder = subset(train, size, directory)
            results.append(measure(folder, size, args.rounds, loads))
            results[-1]["wall"] = time.perf_counter() - start - elapsed
    loads.append(os.getloadavg()[0])
    wall = time.perf_counter() - start
    print(json.dumps(results), flush=True)
    report(args, base, results, skipped, loads, wall)


def med(values):
    return float(np.median(values))


def report(args, base_rss, results, skipped, loads, wall):
    import keras
    import tensorflow as tf

    sizes = " ".join(str(size) for size in args.sizes)
    lines = [
        "# Training on a streamed image folder against the same images in "
        "memory",
        "",
        f"Measured {datetime.datetime.now():%Y-%m-%d %H:%M} on {machine()}, "
        f"Python {platform.python_version()}, TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}. The whole run took {wall / 60:.1f} "
        f"minutes. The 1-minute load average was {loads[0]:.1f} at the "
        f"start, {min(loads):.1f} to {max(loads):.1f} after the rounds "
        f"(median {med(loads):.1f}) and {loads[-1]:.1f} at the end, on "
        f"{os.cpu_count()} cores: other jobs shared the machine, so the "
        "seconds are upper bounds, and the ratios (both workers measured "
        "in the same round) are the numbers to read.",
        "",
        "```bash",
        "KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python "
        f"-m {MODULE} --sizes {sizes} "
        f"--rounds {args.rounds} --minutes {args.minutes:g}",
        "```",
        "",
        "The conv VAE of `keras-vae train --data FOLDER --image-size 32 "
        "--architecture conv` (`build_conv_vae((32, 32, 3), latent_dim=20, "
        f'hidden_units={HIDDEN_UNITS}, preprocessing="8bit", seed=0)`, '
        f"`Adam(1e-3)`), one `fit` with batches of {BATCH_SIZE} on the "
        "CIFAR-10 training JPEGs (32x32 RGB), each data path in its own "
        "worker process:",
        "",
        "- **streamed**: `image_folder(folder, image_size=(32, 32), "
        f"channels=3, batch_size={BATCH_SIZE}, labels=None, seed=0)`, every "
        "file read and decoded again each epoch;",
        "- **in memory**: the same images decoded once into one uint8 NumPy "
        f"array, `fit(x, batch_size={BATCH_SIZE})`.",
        "",
        "The first epoch (tracing, compilation) is left out; then the "
        f"workers alternate one epoch each, {args.rounds} rounds. "
        "**epoch (s)**: the median of the epochs, timed by a callback. "
        "**streamed / in memory**: the median of the per-round ratios (the "
        "rounds' own ratios in brackets). **CPU**: the median CPU seconds "
        "of an epoch, user + system over all the worker's threads (2 cores "
        "give at most 2 s a second). **first batch**: the median seconds "
        "from the start of an epoch to the end of its first step. "
        "**peak RSS**: VmHWM of the worker "
        "after its epochs; a process that only imports keras_vae and "
        f"TensorFlow peaks at {base_rss:.0f} MB. **before fit**: VmHWM "
        "once the data is ready, before the model is built. "
        "**check / load**: `image_folder`'s up-front decoding pass, and "
        "decoding into the array.",
        "",
        "| images | data | epoch (s) | images/s | streamed / in memory "
        "| CPU (s) | first batch (s) | peak RSS (MB) | before fit (MB) "
        "| uint8 array (MB) | check + load (s) | first epoch (s) |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | ---: |",
    ]
    for result in results:
        size = result["size"]
        ratios = result["ratios"]
        for mode in MODES:
            row = result["rows"][mode]
            seconds = med(row["seconds"])
            ratio = (
                f"**{med(ratios):.2f}** "
                f"({', '.join(f'{r:.2f}' for r in ratios)})"
                if mode == "streamed"
                else ""
            )
            array = size * IMAGE_SIZE[0] * IMAGE_SIZE[1] * 3 / 2**20
            array = f"{array:.0f}" if mode == "in memory" else ""
            lines.append(
                f"| {size:,} | {mode} | {seconds:.1f} "
                f"| {size / seconds:,.0f} | {ratio} | {med(row['cpu']):.1f} "
                f"| {med(row['first_batch']):.2f} | {row['rss']:.0f} "
                f"| {row['rss_before_fit']:.0f} | {array} "
                f"| {row['check'] + row.get('load', 0):.1f} "
                f"| {row['first']:.1f} |"
            )
    for size, projected in skipped:
        lines += [
            "",
            f"{size:,} images were skipped: the {results[-1]['size']:,}-image "
            f"measurement took {results[-1]['wall']:.0f} s, so {size:,} "
            f"would have taken about {projected:.0f} s and ended the run "
            f"after the {args.minutes:g} minutes allowed.",
        ]
    lines += ["", *interpretation(results)]
    save_report("\n".join(lines) + "\n", args.output)


def interpretation(results):
    """What the table says, computed from it."""
    small, large = results[0], results[-1]
    text = []
    if len(results) > 1:
        span = large["size"] - small["size"]
        for mode in MODES:
            grow = large["rows"][mode]["rss"] - small["rows"][mode]["rss"]
            text.append(
                f"- Peak memory, {mode}: from {small['size']:,} to "
                f"{large['size']:,} images it grows {grow:.0f} MB "
                f"({grow / span * 2**10:.1f} KB an image; the pixels are "
                f"{IMAGE_SIZE[0] * IMAGE_SIZE[1] * 3 / 2**10:.0f} KB)."
            )
    losses = [r["rows"][m]["loss"] for r in results for m in MODES]
    text.append(
        f"- Both paths train the same model alike: the last epoch's loss is "
        f"{min(losses):.0f} to {max(losses):.0f} nats an image across sizes "
        "and paths."
    )
    for result in results:
        ratio = med(result["ratios"])
        verdict = "within" if ratio <= TARGET else "outside"
        text.append(
            f"- {result['size']:,} images: streamed epochs take "
            f"{ratio:.2f}x those in memory, {verdict} the {TARGET}x target."
        )
    return text


if __name__ == "__main__":
    main()
