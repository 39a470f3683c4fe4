"""Memory and speed of `keras_vae.datasets.image_folder` on CIFAR-10 JPEGs.

For 10,000, 25,000 and 50,000 images of the CIFAR-10 training folder
(extracted from ../shared/data/cifar10-jpeg.tar.gz into a temporary folder
outside the repository), each in its own process, so that its peak memory
(VmHWM) is its own:

- streamed: `image_folder(...)` (which decodes every file once up front to
  find damaged ones), then 3 epochs of shuffled batches of 128;
- in memory: the same images decoded into one uint8 NumPy array (the least
  memory an in-memory copy can take), then 3 epochs of batches sliced
  from it.

At 32x32 (CIFAR's own size) and 64x64 (upscaled: 4 times the pixels, as
for a user's larger photos). Medians of several runs.

    .venv/bin/python -m benchmarks.training.streaming

Run it from the repository root; each process runs this module again
(`python -m benchmarks.training.streaming --worker ...`).

The table goes to docs/benchmarks/streaming.md.
"""

import argparse
import datetime
import json
import os
import subprocess
import tarfile
import tempfile
import time

import numpy as np

from benchmarks.machine import ROOT
from benchmarks.machine import machine
from benchmarks.machine import module_command
from benchmarks.machine import peak_rss_mb
from benchmarks.machine import save_report
from benchmarks.machine import worker_env

#: This benchmark, as `python -m` runs it (its workers too).
MODULE = "benchmarks.training.streaming"

# $KERAS_VAE_DATA_DIR, else ../shared/data from the project root.
ARCHIVE = os.path.join(
    os.environ.get("KERAS_VAE_DATA_DIR")
    or os.path.join(ROOT, "..", "shared", "data"),
    "cifar10-jpeg.tar.gz",
)
CLASSES = "airplane automobile bird cat deer dog frog horse ship truck".split()
BATCH_SIZE = 128
EPOCHS = 3


def extract(archive, directory):
    """Writes `train/<class>/*.jpg` of the archive into `directory`."""
    with tarfile.open(archive) as tar:
        for member in tar:
            if member.isfile() and member.name.startswith("train/"):
                target = os.path.join(directory, member.name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "wb") as f:
                    f.write(tar.extractfile(member).read())
    return os.path.join(directory, "train")


def subset(train, size, directory):
    """A folder of hard links to the first `size / 10` images of each
    class of `train`."""
    folder = os.path.join(directory, f"cifar{size}")
    for name in CLASSES:
        os.makedirs(os.path.join(folder, name))
        files = sorted(os.listdir(os.path.join(train, name)))
        for file in files[: size // len(CLASSES)]:
            os.link(
                os.path.join(train, name, file),
                os.path.join(folder, name, file),
            )
    return folder


def worker(mode, folder, image_size):
    """One process: one epoch over `folder`, streamed or in memory; prints
    seconds and peak memory as JSON."""
    import keras_vae

    start = time.perf_counter()
    dataset = keras_vae.datasets.image_folder(
        folder,
        image_size=image_size,
        batch_size=BATCH_SIZE,
        shuffle=mode == "streamed",
        seed=0,
    )
    result = {"check": time.perf_counter() - start}
    n = len(dataset.file_paths)
    if mode == "in memory":
        start = time.perf_counter()
        images = np.empty((n, image_size, image_size, 3), dtype="uint8")
        labels = np.empty((n,), dtype="int32")
        i = 0
        for x, y in dataset.as_numpy_iterator():
            images[i : i + len(x)], labels[i : i + len(x)] = x, y
            i += len(x)
        result["load"] = time.perf_counter() - start

        def batches():
            for i in range(0, n, BATCH_SIZE):
                yield images[i : i + BATCH_SIZE], labels[i : i + BATCH_SIZE]
    else:
        batches = dataset.as_numpy_iterator
    seconds = []
    for _ in range(EPOCHS):
        start = time.perf_counter()
        total = 0
        for x, _ in batches():
            total += int(x[:, 0, 0, 0].sum())  # touch every batch
        seconds.append(time.perf_counter() - start)
    result.update(epoch=float(np.median(seconds)), images=n, rss=peak_rss_mb())
    print(json.dumps(result))


def baseline():
    """Peak memory of a process that imports keras_vae and TensorFlow."""
    import tensorflow as tf

    import keras_vae  # noqa: F401

    tf.constant(0)
    print(json.dumps({"rss": peak_rss_mb()}))


def run(arguments):
    out = subprocess.run(
        module_command(MODULE, arguments),
        capture_output=True,
        text=True,
        check=True,
        env=worker_env(),
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def median(runs, key):
    return float(np.median([r[key] for r in runs]))


def main():
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--worker", choices=["streamed", "in memory"])
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--folder")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[10000, 25000, 50000]
    )
    parser.add_argument("--image-sizes", type=int, nargs="*", default=[32, 64])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--archive", default=ARCHIVE)
    parser.add_argument("--output", default="docs/benchmarks/streaming.md")
    args = parser.parse_args()
    if args.baseline:
        return baseline()
    if args.worker:
        return worker(args.worker, args.folder, args.image_size)

    rows = []
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="cifar10-jpeg-") as directory:
        start = time.perf_counter()
        train = extract(args.archive, directory)
        print(f"extracted in {time.perf_counter() - start:.1f} s", flush=True)
        base = [run(["--baseline"]) for _ in range(args.repeats)]
        for size in args.sizes:
            folder = subset(train, size, directory)
            for image_size in args.image_sizes:
                for mode in ("streamed", "in memory"):
                    runs = [
                        run(
                            [
                                f"--worker={mode}",
                                f"--folder={folder}",
                                f"--image-size={image_size}",
                            ]
                        )
                        for _ in range(args.repeats)
                    ]
                    assert all(r["images"] == size for r in runs), runs
                    rows.append((size, image_size, mode, runs))
                    print(
                        f"{size} {image_size}px {mode}: "
                        f"{median(runs, 'rss'):.0f} MB, check "
                        f"{median(runs, 'check'):.1f} s, epoch "
                        f"{median(runs, 'epoch'):.2f} s",
                        flush=True,
                    )
    load.append(os.getloadavg()[0])
    report(args, median(base, "rss"), rows, load)


def interpretation(rows):
    """What the table says, computed from it."""
    by = {(size, px, mode): runs for size, px, mode, runs in rows}
    sizes = sorted({size for size, *_ in rows})
    small, large = sizes[0], sizes[-1]
    text, slopes = [], []
    for px in sorted({px for _, px, *_ in rows}):
        streamed = [
            median(by[s, px, "streamed"], "rss") for s in (small, large)
        ]
        in_memory = [
            median(by[s, px, "in memory"], "rss") for s in (small, large)
        ]
        per_file = (streamed[1] - streamed[0]) / (large - small) * 2**10
        slopes.append(per_file)
        array = px * px * 3 / 2**10
        text.append(
            f"- {px}x{px}: from {small:,} to {large:,} images, streamed peak "
            f"memory grows {streamed[1] - streamed[0]:.0f} MB "
            f"({per_file:.1f} KB per file: file names and bookkeeping, not "
            f"pixels), in memory {in_memory[1] - in_memory[0]:.0f} MB "
            f"(the pixels, {array:.0f} KB an image, and the decoding)."
        )
    checks = [median(by[s, px, m], "check") for s, px, m in by]
    per_10k = np.median([c / s * 1e4 for c, (s, _, _) in zip(checks, by)])
    text += [
        "",
        "The up-front check (decode every file once) costs about "
        f"{per_10k:.1f} s per 10,000 small JPEGs here; on large photos it "
        "costs what one epoch's decoding costs. Streaming keeps the pixels "
        "out of memory at the price of decoding every epoch, on the same "
        "cores as the training step. At a million files the names alone "
        f"would take about {max(slopes) * 1e6 / 2**20:.1f} GB, where "
        "TFRecord shards (docs/benchmarks/scaling.md) are the better format.",
    ]
    return text


def report(args, base_rss, rows, load):
    lines = [
        "# Streaming a folder of images",
        "",
        f"Measured {datetime.datetime.now():%Y-%m-%d %H:%M} on {machine()}; "
        "the CIFAR-10 training JPEGs (32x32 RGB, 10 classes), "
        f"`keras_vae.datasets.image_folder`, batches of {BATCH_SIZE}; "
        f"medians of {args.repeats} runs, each its own process. The 1-minute "
        f"load average was {load[0]:.1f} at the start and {load[1]:.1f} at "
        f"the end (on {os.cpu_count()} cores: other work shared them, so "
        "the speeds are lower bounds and single runs vary up to 2x).",
        "",
        "```bash",
        f".venv/bin/python -m {MODULE}",
        "```",
        "",
        "- **check**: the seconds `image_folder` takes before it returns: "
        "listing the files, the split, and decoding every file once to find "
        "damaged ones.",
        f"- **images/s**: the median of {EPOCHS} epochs of the pipeline "
        "alone (read, decode, resize, batch, a full reshuffle every epoch), "
        "no model.",
        "- **load**: decoding all the images into one uint8 array.",
        f"- **peak RSS**: VmHWM of the process, after the {EPOCHS} epochs. "
        "A process that only imports keras_vae and TensorFlow peaks at "
        f"{base_rss:.0f} MB.",
        "",
        "| images | size | data | check (s) | load (s) | images/s "
        "| peak RSS (MB) | above import (MB) | uint8 array (MB) |",
        "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for size, image_size, mode, runs in rows:
        in_memory = mode == "in memory"
        load = f"{median(runs, 'load'):.1f}" if in_memory else ""
        rate = "" if in_memory else f"{size / median(runs, 'epoch'):,.0f}"
        rss = median(runs, "rss")
        array = size * image_size * image_size * 3 / 2**20
        lines.append(
            f"| {size} | {image_size}x{image_size} | {mode} "
            f"| {median(runs, 'check'):.1f} | {load} | {rate} "
            f"| {rss:.0f} | {rss - base_rss:.0f} | {array:.0f} |"
        )
    lines += ["", *interpretation(rows)]
    save_report("\n".join(lines) + "\n", args.output)


if __name__ == "__main__":
    main()
