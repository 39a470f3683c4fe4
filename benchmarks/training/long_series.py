"""Peak memory of training a sequence VAE on a long series read from a CSV
file: streamed (`keras_vae.datasets.csv_windows_dataset`) against loaded
(`load_csv` + `windows_dataset`), for 1 and 10 million steps.

The series are sensor logs as they come: `;`-separated, a `datetime`
column (one row a second), 8 channels of noisy sines with 3 decimals, and
an `anomaly` label column (left out with `exclude`); they are written once
into `--work-dir` (a temporary folder by default; 0.6 GB for 10 million
rows). Each run is a worker process of its own, so that its peak memory
(VmHWM) is its own: it builds the dataset (64-step windows, stride 1,
batches of 128, shuffled), builds `build_sequence_vae((64, 8))` (conv, its
defaults, a `Normalization` adapted on the first 10,000 rows) and trains
`--steps` batches with one `fit`. The table gives the medians over
`--runs` runs of the peak RSS, the seconds to make the dataset (for the
streamed one, the pass that indexes the file) and the training steps per
second, and the ratio of the 10-million-step peak to the 1-million-step
one per data path. Issue 24's target: at most 1.3 for the streamed path.

    .venv/bin/python -m benchmarks.training.long_series

Run it from the repository root. The table goes to
docs/benchmarks/long_series.md.
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.machine import machine
from benchmarks.machine import module_command
from benchmarks.machine import peak_rss_mb
from benchmarks.machine import save_report
from benchmarks.machine import worker_env

MODULE = "benchmarks.training.long_series"
WINDOW = 64
CHANNELS = 8
BATCH_SIZE = 128
SIZES = (1_000_000, 10_000_000)
MODES = ("streamed", "loaded")
TARGET = 1.3


def write_series(path, steps, chunk=200_000):
    """A `;`-separated sensor log of `steps` rows (see the docstring)."""
    rng = np.random.default_rng(steps)
    phase = rng.uniform(0, 2 * np.pi, size=CHANNELS)
    period = rng.uniform(50, 500, size=CHANNELS)
    start = np.datetime64("2024-01-01T00:00:00")
    channels = ";".join(f"sensor{c}" for c in range(CHANNELS))
    with open(path + ".tmp", "w") as f:
        f.write(f"datetime;{channels};anomaly\n")
        for first in range(0, steps, chunk):
            t = np.arange(first, min(first + chunk, steps))
            values = 10 * np.sin(2 * np.pi * t[:, None] / period + phase)
            values += rng.normal(scale=0.5, size=values.shape)
            times = (start + t).astype(str)
            cells = np.char.mod("%.3f", values.round(3))
            rows = [";".join(r) for r in cells]
            f.write("".join(f"{s};{r};0\n" for s, r in zip(times, rows)))
    os.replace(path + ".tmp", path)


def worker(path, mode, steps):
    import keras

    import keras_vae

    start = time.perf_counter()
    if mode == "streamed":
        dataset = keras_vae.datasets.csv_windows_dataset(
            path, WINDOW, batch_size=BATCH_SIZE, exclude=["anomaly"], seed=0
        )
    else:
        x, _ = keras_vae.datasets.load_csv(path, exclude=["anomaly"])
        dataset = keras_vae.datasets.windows_dataset(
            x, WINDOW, batch_size=BATCH_SIZE, seed=0
        )
        del x
    made = time.perf_counter() - start
    first, _ = keras_vae.datasets.load_csv(
        _head(path, 10_000), exclude=["anomaly"]
    )
    normalization = keras.layers.Normalization(axis=-1)
    normalization.adapt(first)
    keras.utils.set_random_seed(0)
    vae = keras_vae.build_sequence_vae(
        (WINDOW, CHANNELS), preprocessing=normalization, seed=0
    )
    vae.compile(optimizer="adam")
    # The first 20 steps trace and warm up; the rest are timed.
    vae.fit(dataset, epochs=1, steps_per_epoch=20, verbose=0)
    start = time.perf_counter()
    history = vae.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    seconds = time.perf_counter() - start
    return {
        "peak_rss_mb": peak_rss_mb(),
        "dataset_s": made,
        "steps_per_s": steps / seconds,
        "loss": history.history["loss"][-1],
    }


def _head(path, rows):
    """A CSV of the first `rows` data rows of `path`, beside it."""
    head = path + f".head{rows}.csv"
    if not os.path.exists(head):
        with open(path) as f, open(head + ".tmp", "w") as out:
            for _ in range(rows + 1):
                out.write(f.readline())
        os.replace(head + ".tmp", head)
    return head


def run_worker(path, mode, steps):
    child = subprocess.run(
        module_command(MODULE, ["--worker", path, mode, str(steps)]),
        capture_output=True,
        text=True,
        env=worker_env(),
    )
    if child.returncode:
        sys.exit(f"The {mode} worker on {path} failed:\n{child.stderr}")
    return json.loads(child.stdout.splitlines()[-1])


def report(results, sizes, args, command):
    lines = [
        "# Training on a long series: peak memory",
        "",
        f"{datetime.date.today()}, {machine()}. `{command}`",
        "",
        f"`build_sequence_vae(({WINDOW}, {CHANNELS}))` (conv) trained "
        f"{args.steps} steps of {BATCH_SIZE} windows after 20 warm-up steps, "
        f"one worker process per run; medians of {args.runs} runs. "
        "**peak RSS**: VmHWM of the worker; **dataset**: seconds to make "
        "the dataset (streamed: one pass that indexes the file; loaded: "
        "`load_csv` parsing every value).",
        "",
        "| steps | data | file (MB) | peak RSS (MB) | x shortest's peak "
        "| dataset (s) | steps/s |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mode in MODES:
        small = np.median([r["peak_rss_mb"] for r in results[mode][sizes[0]]])
        for size in sizes:
            runs = results[mode][size]
            peak = np.median([r["peak_rss_mb"] for r in runs])
            lines.append(
                f"| {size:,} | {mode} | {results['file_mb'][size]:.0f} "
                f"| {peak:.0f} | {peak / small:.2f} "
                f"| {np.median([r['dataset_s'] for r in runs]):.1f} "
                f"| {np.median([r['steps_per_s'] for r in runs]):.1f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help="The steps of the short and the long series.",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--work-dir", help="Keep the series here (default: a temporary one)."
    )
    parser.add_argument("--output", default="docs/benchmarks/long_series.md")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        path, mode, steps = args.worker
        print(json.dumps(worker(path, mode, int(steps))))
        return 0
    sizes = [int(size) for size in args.sizes.split(",")]

    work_dir = args.work_dir or tempfile.mkdtemp(prefix="long_series-")
    os.makedirs(work_dir, exist_ok=True)
    results = {mode: {size: [] for size in sizes} for mode in MODES}
    results["file_mb"] = {}
    try:
        paths = {}
        for size in sizes:
            paths[size] = os.path.join(work_dir, f"series_{size}.csv")
            if not os.path.exists(paths[size]):
                start = time.perf_counter()
                write_series(paths[size], size)
                seconds = time.perf_counter() - start
                print(f"wrote {paths[size]} in {seconds:.0f} s", flush=True)
            results["file_mb"][size] = os.path.getsize(paths[size]) / 2**20
        # Runs alternate between the configurations, so that each sees the
        # same load of this shared machine.
        for run in range(args.runs):
            for mode in MODES:
                for size in sizes:
                    result = run_worker(paths[size], mode, args.steps)
                    results[mode][size].append(result)
                    print(
                        f"run {run} {mode} {size:,}: "
                        f"{result['peak_rss_mb']:.0f} MB, "
                        f"dataset {result['dataset_s']:.1f} s, "
                        f"{result['steps_per_s']:.1f} steps/s",
                        flush=True,
                    )
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir)
    command = " ".join(
        ["python", "-m", MODULE] + (argv if argv is not None else sys.argv[1:])
    )
    save_report(report(results, sizes, args, command), args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
