"""Serves an exported VAE from many threads at once, with TensorFlow alone,
and measures the latency.

Loads a SavedModel of `keras_vae.export.export_saved_model` with
`tf.saved_model.load` in this process (which never imports keras-vae),
calls each of its signatures that take data (`encode`, `reconstruct`,
`score` and the `_bytes` ones) once per distinct request, single-threaded,
for reference, then sends the same requests, shuffled, from `--threads`
threads. Every response must equal its reference exactly; any error or
difference is counted and makes the exit status 1. Prints a markdown table
of latencies (median and 99th percentile, in ms, of a call from tensors in
to NumPy arrays out) and throughput; `--json` writes them for a program.

The inputs are a folder with `x.npy` (uint8 images, or float32 rows),
optionally `labels.npy` (int32, for a conditional model), and `files/`, the
encoded image files for the `_bytes` signatures (sorted by name).

Without `--export-dir`, a child process builds the benchmark model (a
`build_conv_vae` of 32x32 RGB 8-bit images, untrained: latency does not
depend on the weights), exports it and writes 64 CIFAR-10 test JPEGs from
`../shared/data` (or PNGs made with PIL) as its inputs.

Usage:

```shell
python -m benchmarks.serving.serving_load  # builds the benchmark model
python -m benchmarks.serving.serving_load \\
    --export-dir saved_models/cifar_vae/1 \\
    --inputs requests/ --threads 16 --requests 4000
```

Run it from the repository root. The serving process imports nothing of
the repository but `benchmarks.machine`, which imports neither TensorFlow
nor keras-vae.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from benchmarks.machine import ROOT
from benchmarks.machine import module_command
from benchmarks.machine import worker_env

#: This benchmark, as `python -m` runs it (its model-building child too).
MODULE = "benchmarks.serving.serving_load"

#: The signatures sent, those the model has, in this order.
SIGNATURES = (
    "encode",
    "reconstruct",
    "score",
    "encode_bytes",
    "reconstruct_bytes",
    "score_bytes",
)


def load_inputs(directory):
    """`x`, `labels` (or None) and the image files' contents (or None)."""
    x = np.load(os.path.join(directory, "x.npy"))
    labels_path = os.path.join(directory, "labels.npy")
    labels = np.load(labels_path) if os.path.exists(labels_path) else None
    files_dir = os.path.join(directory, "files")
    contents = None
    if os.path.isdir(files_dir):
        contents = []
        for name in sorted(os.listdir(files_dir)):
            with open(os.path.join(files_dir, name), "rb") as f:
                contents.append(f.read())
    return x, labels, contents


def make_requests(signatures, names, x, contents, count, batch_sizes, seed):
    """`count` requests `(signature name, start, batch size)`, cycling
    through those of `names` the model has, with random starts and batch
    sizes."""
    rng = np.random.default_rng(seed)
    names = [
        name
        for name in names
        if name in signatures and (contents or not name.endswith("_bytes"))
    ]
    requests = []
    for i in range(count):
        name = names[i % len(names)]
        size = int(rng.choice(batch_sizes))
        n = len(contents) if name.endswith("_bytes") else len(x)
        size = min(size, n)
        requests.append((name, int(rng.integers(0, n - size + 1)), size))
    return requests


def request_inputs(tf, request, x, labels, contents):
    name, start, size = request
    if name.endswith("_bytes"):
        inputs = {"image_bytes": tf.constant(contents[start : start + size])}
    else:
        inputs = {"x": tf.constant(x[start : start + size])}
    if labels is not None:
        inputs["labels"] = tf.constant(labels[start : start + size])
    return inputs


def call(signature, inputs):
    return {k: v.numpy() for k, v in signature(**inputs).items()}


def percentiles(times):
    ms = 1000 * np.asarray(times)
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def run_load(
    export_dir, inputs_dir, names, threads, count, batch_sizes, seconds
):
    """Runs the load test; returns a dict of results."""
    import tensorflow as tf

    loaded = tf.saved_model.load(export_dir)
    signatures = loaded.signatures
    x, labels, contents = load_inputs(inputs_dir)
    requests = make_requests(
        signatures, names, x, contents, count, batch_sizes, seed=0
    )
    tensors = {
        request: request_inputs(tf, request, x, labels, contents)
        for request in set(requests)
    }

    # References, one call per distinct request, single-threaded (the
    # first call of each signature traces nothing: the graphs are loaded,
    # but it initializes kernels, so it is not timed).
    references, alone = {}, {}
    for request in sorted(tensors):
        name = request[0]
        if name not in alone:
            call(signatures[name], tensors[request])
            alone[name] = []
        start = time.perf_counter()
        references[request] = call(signatures[name], tensors[request])
        alone[name].append(time.perf_counter() - start)

    order = np.random.default_rng(1).permutation(len(requests))
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    latencies = {name: [] for name in names if name in alone}
    failures = []

    def serve(index):
        request = requests[index]
        if time.monotonic() > deadline:
            return False
        start = time.perf_counter()
        try:
            outputs = call(signatures[request[0]], tensors[request])
        except Exception as error:  # Counted and reported, not raised.
            with lock:
                failures.append(f"{request}: {type(error).__name__}: {error}")
            return True
        elapsed = time.perf_counter() - start
        expected = references[request]
        same = sorted(outputs) == sorted(expected) and all(
            np.array_equal(outputs[k], expected[k]) for k in expected
        )
        with lock:
            latencies[request[0]].append(elapsed)
            if not same:
                failures.append(f"{request}: differs from the reference")
        return True

    load_average = os.getloadavg()
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        done = sum(pool.map(serve, order))
    wall = time.perf_counter() - start

    everything = [t for times in latencies.values() for t in times]
    result = {
        "export_dir": os.path.abspath(export_dir),
        "threads": threads,
        "requests": count,
        "completed": done,
        "batch_sizes": list(batch_sizes),
        "wall_s": wall,
        "load_average_at_start": list(load_average),
        "requests_per_s": done / wall,
        "failures": len(failures),
        "failure_examples": failures[:5],
        "keras_vae_imported": "keras_vae" in sys.modules,
        "signatures": {},
    }
    for name, times in latencies.items():
        p50, p99 = percentiles(times)
        result["signatures"][name] = {
            "count": len(times),
            "p50_ms": p50,
            "p99_ms": p99,
            "alone_p50_ms": percentiles(alone[name])[0],
        }
    result["p50_ms"], result["p99_ms"] = percentiles(everything)
    return result


def markdown(result):
    lines = [
        "| signature | requests | p50 (ms) | p99 (ms) | p50 alone (ms) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in result["signatures"].items():
        lines.append(
            f"| `{name}` | {row['count']} | {row['p50_ms']:.2f} | "
            f"{row['p99_ms']:.2f} | {row['alone_p50_ms']:.2f} |"
        )
    lines.append(
        f"| all | {result['completed']} | {result['p50_ms']:.2f} | "
        f"{result['p99_ms']:.2f} | |"
    )
    return "\n".join(lines)


def build_benchmark_model(directory):
    """Exports the benchmark model to `directory/model/1` and writes its
    inputs to `directory/inputs`. Runs in a child process: it imports
    keras-vae."""
    import keras
    import tensorflow as tf

    import keras_vae
    from keras_vae.datasets import image_folder

    keras.utils.set_random_seed(0)
    vae = keras_vae.build_conv_vae(
        (32, 32, 3), latent_dim=32, preprocessing="8bit", seed=0
    )
    version_dir = keras_vae.export_saved_model(
        vae, os.path.join(directory, "model")
    )
    files_dir = os.path.join(directory, "inputs", "files")
    os.makedirs(files_dir)
    archive = os.path.join(ROOT, "..", "shared", "data")
    archive = os.path.join(
        os.environ.get("KERAS_VAE_DATA_DIR", archive), "cifar10-jpeg.tar.gz"
    )
    if os.path.exists(archive):
        import tarfile

        with tarfile.open(archive) as tar:
            members = (
                m for m in tar if m.isfile() and m.name.startswith("test/")
            )
            for i, member in enumerate(members):
                if i == 64:
                    break
                name = member.name.replace("/", "_")
                with open(os.path.join(files_dir, name), "wb") as f:
                    f.write(tar.extractfile(member).read())
    else:
        rng = np.random.default_rng(0)
        for i in range(64):
            image = rng.integers(0, 256, size=(40, 30, 3), dtype="uint8")
            with open(os.path.join(files_dir, f"{i:02d}.png"), "wb") as f:
                f.write(tf.io.encode_png(image).numpy())
    images = image_folder(
        files_dir,
        image_size=(32, 32),
        batch_size=None,
        shuffle=False,
        labels=None,
    )
    x = np.stack(list(images.as_numpy_iterator()))
    np.save(os.path.join(directory, "inputs", "x.npy"), x)
    return version_dir


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--export-dir", help="A SavedModel version directory.")
    parser.add_argument("--inputs", help="The inputs folder (see above).")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument(
        "--batch-sizes",
        default="1",
        help="Comma-separated batch sizes the requests draw from.",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=300,
        help="Requests not started by then are skipped (and reported).",
    )
    parser.add_argument(
        "--signatures",
        default=",".join(SIGNATURES),
        help="Comma-separated signatures to call (those the model lacks "
        "are left out); default: %(default)s.",
    )
    parser.add_argument("--json", help="Also write the results here.")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.build:
        print(build_benchmark_model(args.build))
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        export_dir, inputs = args.export_dir, args.inputs
        if export_dir is None:
            # Built in a child: this process serves with TensorFlow alone.
            child = subprocess.run(
                module_command(MODULE, ["--build", scratch]),
                capture_output=True,
                text=True,
                env=worker_env(quiet=False),
            )
            if child.returncode:
                sys.exit(f"Building the model failed:\n{child.stderr}")
            export_dir = child.stdout.splitlines()[-1]
            inputs = os.path.join(scratch, "inputs")
        batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
        result = run_load(
            export_dir,
            inputs,
            args.signatures.split(","),
            args.threads,
            args.requests,
            batch_sizes,
            args.max_seconds,
        )
    result["command"] = " ".join(
        ["python", "-m", MODULE] + (argv if argv is not None else sys.argv[1:])
    )
    print(
        f"{result['completed']} of {result['requests']} requests from "
        f"{result['threads']} threads in {result['wall_s']:.1f} s "
        f"({result['requests_per_s']:.0f}/s), batch sizes "
        f"{result['batch_sizes']}; {result['failures']} failures\n"
    )
    print(markdown(result))
    for failure in result["failure_examples"]:
        print(failure, file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    ok = not result["failures"] and result["completed"] == args.requests
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
