"""Measures the latency of online scoring: the served `score` of one window
of a sequence VAE, called as TF Serving calls it.

For each model (`build_sequence_vae` of 64-step windows of 8 channels,
conv and recurrent, with a per-channel `Normalization` of raw units) and
each number of importance samples `K` of the `score` signature (16, the
default of `point_scores` and `keras-vae score` on series, and 100, the
SavedModel's default), a child process builds and exports the model and
writes the windows and their scores by Python
(`keras_vae.evaluation.point_scores`, the score of the window that ends at
each step). This process then loads the SavedModel with TensorFlow alone
(`tf.saved_model.load`, as TF Serving does; keras-vae is never imported
here), checks that the served score of every window equals Python's, and
times requests of one window, one thread, one after the other
(`benchmarks.serving.serving_load.run_load`: from a tensor in to a NumPy
array out), in `--runs` runs of `--requests` requests. It prints a
markdown table of the medians over the runs of each run's p50 and p99 (in
ms) and writes it to `--output`. The target of issue 24: p99 <= 5 ms.

The models are untrained (latency does not depend on the weights); the
series is a noisy sine of 8 channels in raw units (means 20 to 90).

Usage, from the repository root:

```shell
python -m benchmarks.serving.score_latency
```
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from benchmarks.machine import machine
from benchmarks.machine import module_command
from benchmarks.machine import worker_env
from benchmarks.serving.serving_load import run_load

MODULE = "benchmarks.serving.score_latency"
WINDOW = 64
CHANNELS = 8
ARCHITECTURES = ("conv", "recurrent")
SAMPLES = (16, 100)


def series(steps=4096, seed=0):
    """A noisy sine of `CHANNELS` channels, in raw units."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    phase = rng.uniform(0, 2 * np.pi, size=CHANNELS)
    level = np.linspace(20, 90, CHANNELS)
    return (
        level
        + 5 * np.sin(2 * np.pi * t / 96 + phase)
        + rng.normal(scale=0.5, size=(steps, CHANNELS))
    )


def build(directory, architecture, num_samples):
    """Exports the model to `directory/model/1`, writes the windows to
    `directory/inputs/x.npy` and Python's scores of them to
    `directory/python_scores.npy`. Runs in a child: it imports keras-vae."""
    import keras

    import keras_vae

    keras.utils.set_random_seed(0)
    values = series().astype("float32")
    normalization = keras.layers.Normalization(axis=-1)
    normalization.adapt(values)
    vae = keras_vae.build_sequence_vae(
        input_shape=(WINDOW, CHANNELS),
        architecture=architecture,
        preprocessing=normalization,
        seed=0,
    )
    version_dir = keras_vae.export_saved_model(
        vae, os.path.join(directory, "model"), score_samples=num_samples
    )
    # The score of the window ending at each step, by Python; its windows.
    scores = keras_vae.evaluation.point_scores(
        vae, values, num_samples=num_samples, seed=0, verbose=0
    )
    x = keras_vae.datasets.windows(values, WINDOW)
    os.makedirs(os.path.join(directory, "inputs"))
    np.save(os.path.join(directory, "inputs", "x.npy"), x)
    np.save(os.path.join(directory, "python_scores.npy"), scores[WINDOW - 1 :])
    return version_dir


def served_scores(export_dir, x):
    """The `score` signature's scores of `x`, with TensorFlow alone."""
    import tensorflow as tf

    score = tf.saved_model.load(export_dir).signatures["score"]
    return np.concatenate(
        [
            score(x=tf.constant(x[i : i + 256]))["nll"].numpy()
            for i in range(0, len(x), 256)
        ]
    )


def measure(architecture, num_samples, runs, requests):
    with tempfile.TemporaryDirectory() as scratch:
        child = subprocess.run(
            module_command(
                MODULE, ["--build", scratch, architecture, str(num_samples)]
            ),
            capture_output=True,
            text=True,
            env=worker_env(),
        )
        if child.returncode:
            sys.exit(f"Building the model failed:\n{child.stderr}")
        export_dir = child.stdout.splitlines()[-1]
        inputs = os.path.join(scratch, "inputs")
        x = np.load(os.path.join(inputs, "x.npy"))
        python = np.load(os.path.join(scratch, "python_scores.npy"))
        served = served_scores(export_dir, x)
        difference = float(np.max(np.abs(served - python) / np.abs(python)))
        results = [
            run_load(export_dir, inputs, ["score"], 1, requests, [1], 600)
            for _ in range(runs)
        ]
    failures = sum(r["failures"] for r in results)
    assert "keras_vae" not in sys.modules
    return {
        "architecture": architecture,
        "num_samples": num_samples,
        "p50_ms": [r["p50_ms"] for r in results],
        "p99_ms": [r["p99_ms"] for r in results],
        "max_relative_difference": difference,
        "failures": failures,
    }


def markdown(rows):
    lines = [
        "| model | K | p50 (ms) | p99 (ms) | p99 of each run (ms) "
        "| served vs Python |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for row in rows:
        each = ", ".join(f"{t:.2f}" for t in row["p99_ms"])
        lines.append(
            f"| {row['architecture']} | {row['num_samples']} "
            f"| {np.median(row['p50_ms']):.2f} "
            f"| {np.median(row['p99_ms']):.2f} | {each} "
            f"| {row['max_relative_difference']:.1e} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--output", default="docs/benchmarks/score_latency.md")
    parser.add_argument("--json", help="Also write the results here.")
    parser.add_argument("--build", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        directory, architecture, num_samples = args.build
        print(build(directory, architecture, int(num_samples)))
        return 0

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for architecture in ARCHITECTURES:
        for num_samples in SAMPLES:
            row = measure(architecture, num_samples, args.runs, args.requests)
            print(
                f"{architecture} K={num_samples}: p99 "
                f"{np.median(row['p99_ms']):.2f} ms",
                flush=True,
            )
            rows.append(row)
    if any(row["failures"] for row in rows):
        sys.exit("Some served scores differed from the first call's.")
    table = markdown(rows)
    command = " ".join(
        ["python", "-m", MODULE] + (argv if argv is not None else sys.argv[1:])
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    document = f"""# Online scoring latency

The served `score` of one window of {WINDOW} steps x {CHANNELS} channels
(raw units in; `{{"nll"}}` out, the importance-sampled negative
log-likelihood of the window with K noise draws fixed at export), called
through the SavedModel's signature with TensorFlow alone, one request at a
time, batch 1. Issue 24's target: p99 <= 5 ms.

- Command: `{command}`
- Date: {now:%Y-%m-%d %H:%M} UTC
- Machine: {machine()}
- Load average at the start: {load}
- Timing: {args.runs} runs of {args.requests} requests per row; the
  table gives the median over the runs of each run's p50 and p99

{table}

Models: `build_sequence_vae(input_shape=({WINDOW}, {CHANNELS}),
architecture=...)` with its defaults (conv: 32 filters, dilations 1, 2, 4,
8; recurrent: a GRU of 64 units) and a `Normalization(axis=-1)` of raw
units. The last column is the largest relative difference between the
served score and Python's (`keras_vae.evaluation.point_scores` with the
same K and seed) over the {len(series()) - WINDOW + 1} windows of the
series. A request to TF Serving adds the network and (de)serialization on
top of these in-process times.
"""
    print("\n" + table)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        f.write(document)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    print(f"\nWrote {args.output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
