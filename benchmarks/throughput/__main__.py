"""Training throughput of keras-vae on each Keras backend, and of plain loops.

The same VAE trains in keras-vae on TensorFlow, JAX and PyTorch, and in
reference loops written in plain PyTorch and plain JAX.

Each row trains in its own worker process (no shared thread pools,
separate peak memory). The workers alternate, A B C A B C, one epoch at a
time after a warm-up epoch, and the table reports medians of samples per
second, the ratio keras-vae on TensorFlow / the row measured side by side,
the fraction of this machine's measured float32 matmul peak, and each
process's peak RSS; then the speed targets, met or not. For a model of
`Dense` layers the peak target also shows the fraction its matmuls alone
reach (`matmul_ceiling_gflops`): the bound of any step of those layers.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python -m benchmarks.throughput

Run it from the repository root; each worker runs this module again as
`python -m benchmarks.throughput --worker ...`.

keras-vae runs with its defaults: `vae.compile(optimizer=Adam(1e-3))` and
one `vae.fit(x, batch_size=128, epochs=...)`, timed epoch by epoch by a
callback that also waits for the parent between epochs, as a user's run
of many epochs goes; `fit`'s one-time set-up (checking the data, building
the input pipeline) is left out, as PyTorch's tensor conversion is. It
runs once per Keras backend of `--backends` (`KERAS_BACKEND` set in the
worker's environment: TensorFlow, JAX, PyTorch). A worker that cannot
start (or fails in an epoch) is reported as a failed row with its error,
the others go on.

The references (`--references`), in `benchmarks.throughput.torch_loop`
and `benchmarks.throughput.jax_loop`, have the same layers and loss
(Bernoulli NLL from logits summed over pixels, plus the closed-form KL,
mean over the batch) and Adam(1e-3):

- `pytorch`: a tuned loop reading shuffled batches from an in-memory
  tensor (its fastest input path), `BCEWithLogitsLoss`;
- `pytorch-compile`: that loop with its forward pass and loss one
  `torch.compile(..., dynamic=False)` function (Inductor's C++ kernels);
- `pytorch-example`, for the MLP: the loop of PyTorch's own VAE example (a
  shuffling `DataLoader`, sigmoid outputs and `F.binary_cross_entropy`),
  the reference the speed target was first set against;
- `jax`: `jax.numpy` and `jax.lax` only, the parameters a pytree, one
  `jax.jit`-compiled step per batch as Flax's VAE example trains, Adam
  written out (Keras's form and epsilon, 1e-7; the PyTorch loops keep
  PyTorch's 1e-8).

PyTorch and JAX are optional benchmark dependencies:
`pip install torch==2.13.0 "jax[cpu]"`.

The CIFAR-size rows (`conv-cifar`, `resnet-cifar`) train on 32x32x3 uint8
images (random pixels: the speed of these networks does not depend on the
values) with `preprocessing="8bit"`; the reference loops convert each
batch to floats in [0, 1] as they go. `conv-cifar` is
`build_conv_vae((32, 32, 3))`, `resnet-cifar` is
`build_resnet_vae((32, 32, 3))` (`RESNET`); the references have the same
layers, the residual blocks' zero-started convolutions included.

The targets, for keras-vae on TensorFlow: >= 1.5x the best PyTorch loop,
>= 1.0x the plain JAX loop, >= 80% of the measured matmul peak.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

from benchmarks.machine import WorkerProcess
from benchmarks.machine import machine
from benchmarks.machine import module_command
from benchmarks.machine import save_report
from benchmarks.machine import worker_env
from benchmarks.throughput.common import LEARNING_RATE
from benchmarks.throughput.common import RESNET
from benchmarks.throughput.common import load_data
from benchmarks.throughput.common import run_worker
from benchmarks.throughput.common import serve_one

#: This benchmark, as `python -m` runs it (its workers too).
MODULE = "benchmarks.throughput"

#: Keras backends: `--backends` name -> (row key, label).
BACKENDS = {
    "tensorflow": ("keras-tensorflow", "keras-vae (TensorFlow)"),
    "jax": ("keras-jax", "keras-vae (JAX)"),
    "torch": ("keras-torch", "keras-vae (PyTorch)"),
}

#: Reference loops: `--references` name -> label.
REFERENCES = {
    "pytorch": "PyTorch loop",
    "pytorch-compile": "PyTorch loop, torch.compile",
    "pytorch-example": "PyTorch VAE example loop",
    "jax": "JAX loop (jit step)",
}

LABELS = {key: label for key, label in BACKENDS.values()} | REFERENCES

#: The models; PyTorch's VAE example is an MLP.
MODELS = ("mlp", "conv", "conv-cifar", "resnet-cifar")

#: The row every ratio is measured against.
BASELINE = "keras-tensorflow"

#: The PyTorch loops, of which the fastest is the 1.5x target's.
PYTORCH_LOOPS = ("pytorch", "pytorch-compile", "pytorch-example")

#: The targets of keras-vae on TensorFlow.
TARGET_PYTORCH, TARGET_JAX, TARGET_PEAK = 1.5, 1.0, 0.8


def flops_per_example(vae):
    """Matrix work of one training example of `vae`: the multiply-adds of
    its `Dense`, `Conv2D` and `Conv2DTranspose` layers, times 2 (forward)
    times 3 (forward + two backward products). A strided transposed
    convolution does the work of its input resolution."""
    import keras

    macs = 0
    for model in (vae.encoder, vae.decoder):
        for layer in model.layers:
            if isinstance(layer, keras.layers.Dense):
                macs += layer.kernel.shape[0] * layer.kernel.shape[1]
            elif isinstance(layer, keras.layers.Conv2DTranspose):
                height, width = layer.input.shape[1:3]
                macs += height * width * int(np.prod(layer.kernel.shape))
            elif isinstance(layer, keras.layers.Conv2D):
                height, width = layer.output.shape[1:3]
                macs += height * width * int(np.prod(layer.kernel.shape))
    return 2 * 3 * macs


def matmul_ceiling_gflops(vae, batch_size, steps=200):
    """GFLOP/s of the matrix products of `vae`'s training step and nothing
    else, on TensorFlow: for each `Dense` layer the forward product at
    `batch_size` and its two backward ones, `steps` steps in one XLA loop
    (median of 5). No step of these layers can beat it on this machine:
    it bounds the fraction of the matmul peak a VAE of these shapes can
    reach. None for a model with other matrix layers."""
    import keras
    import tensorflow as tf

    layers = [layer for m in (vae.encoder, vae.decoder) for layer in m.layers]
    dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
    if len(dense) < sum(hasattr(layer, "kernel") for layer in layers):
        return None  # Convolutions, or other layers with a kernel.
    shapes = [tuple(layer.kernel.shape) for layer in dense]
    rng = np.random.default_rng(0)
    kernels = [tf.constant(rng.standard_normal(s), "float32") for s in shapes]
    inputs = [rng.standard_normal((batch_size, s[0])) for s in shapes]
    inputs = [tf.constant(x, "float32") for x in inputs]
    grads = [rng.standard_normal((batch_size, s[1])) for s in shapes]
    grads = [tf.constant(g, "float32") for g in grads]

    @tf.function(jit_compile=True)
    def run(n):
        def step(i, carry):
            # Each product reads the carry, so XLA can neither hoist nor
            # drop it; within a step the products are independent.
            total = carry
            for w, x, g in zip(kernels, inputs, grads):
                products = (
                    tf.matmul(x + carry, w),
                    tf.matmul(g + carry, w, transpose_b=True),
                    tf.matmul(x, g + carry, transpose_a=True),
                )
                total += 1e-9 * sum(tf.reduce_sum(p) for p in products)
            return i + 1, total

        return tf.while_loop(lambda i, _: i < n, step, (0, 0.0))[1]

    run(tf.constant(steps)).numpy()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        run(tf.constant(steps)).numpy()
        times.append(time.perf_counter() - start)
    flops = sum(2 * 3 * batch_size * a * b for a, b in shapes) * steps
    return flops / np.median(times) / 1e9


def build_keras_vae(model):
    import keras_vae

    if model == "mlp":
        return keras_vae.build_mlp_vae(input_shape=(28, 28, 1))
    if model == "conv":
        return keras_vae.build_conv_vae(input_shape=(28, 28, 1))
    if model == "conv-cifar":
        return keras_vae.build_conv_vae(
            input_shape=(32, 32, 3), preprocessing="8bit"
        )
    return keras_vae.build_resnet_vae(
        input_shape=(32, 32, 3), preprocessing="8bit", **RESNET
    )


# --------------------------------------------------------------------------
# Workers: each reads "epoch" or "stats" lines and answers one JSON line.


def keras_worker(model, batch_size, limit):
    """keras-vae on the backend of `$KERAS_BACKEND`."""
    import keras

    x = load_data(model, limit)
    keras.utils.set_random_seed(0)
    vae = build_keras_vae(model)
    vae.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    flops = flops_per_example(vae)
    ceiling = None
    if keras.backend.backend() == "tensorflow":
        ceiling = matmul_ceiling_gflops(vae, batch_size)

    class Serve(keras.callbacks.Callback):
        """Times each epoch of one long `fit`, as a user runs it, and
        waits for the parent between epochs (the first is the warm-up)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start
            answer = {"rate": len(x) / seconds, "loss": float(logs["loss"])}
            ready = {
                "ready": True,
                "flops_per_example": flops,
                "matmul_ceiling_gflops": ceiling,
                "backend": keras.backend.backend(),
            }
            if not serve_one(answer if epoch else ready):
                self.model.stop_training = True

    vae.fit(
        x, epochs=10**6, batch_size=batch_size, verbose=0, callbacks=[Serve()]
    )


def start_worker(name, model, batch_size, limit):
    if name == "keras-vae":
        return keras_worker(model, batch_size, limit)
    if name == "jax":
        from benchmarks.throughput.jax_loop import jax_worker

        return jax_worker(model, batch_size, limit)
    from benchmarks.throughput.torch_loop import torch_worker

    loop = {"pytorch": "tuned", "pytorch-compile": "compile"}
    torch_worker(model, batch_size, limit, loop.get(name, "example"))


class Worker(WorkerProcess):
    """The worker of row `key`; its stderr goes to a log in `log_dir`.
    `error` is None, or the one line of why it failed."""

    def __init__(self, key, model, batch_size, limit, log_dir):
        self.close_timeout = 60
        self.error = None
        env = worker_env()
        worker = key
        backend = next((b for b, (k, _) in BACKENDS.items() if k == key), None)
        if backend:
            env["KERAS_BACKEND"] = backend
            worker = "keras-vae"
        arguments = ["--worker", worker, "--model", model]
        arguments += ["--batch-size", str(batch_size), "--limit", str(limit)]
        self.log = os.path.join(log_dir, f"{model}-{key}.log")
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                module_command(MODULE, arguments),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
            )
        self.ready = self.ask(None)
        if self.ready and backend and self.ready["backend"] != backend:
            self.fail(f"Keras ran on {self.ready['backend']}, not {backend}")

    def ask(self, command):
        """The worker's answer to `command`, or None once it has failed."""
        if self.error:
            return None
        try:
            answer = super().ask(command)
        except (RuntimeError, OSError):  # Died, or its stdin is closed.
            answer = {"error": self.death()}
        if "error" in answer:
            self.fail(answer["error"])
            return None
        return answer

    def death(self):
        code = self.process.wait(timeout=self.close_timeout)
        with open(self.log) as log:
            lines = [line.strip() for line in log if line.strip()]
        return f"exited with code {code}" + (f": {lines[-1]}" if lines else "")

    def fail(self, error):
        self.error = error
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def close(self):
        if not self.error:
            super().close()


def peak_worker(kernel):
    """Prints the float32 matmul GFLOP/s (1024^3, median of 20) of
    `kernel`'s fastest matmul: TensorFlow's (and its XLA's), PyTorch's or
    JAX's."""
    a = np.random.default_rng(0).standard_normal((2, 1024, 1024))
    a, b = a.astype("float32")
    if kernel == "tensorflow":
        import tensorflow as tf

        a, b = tf.constant(a), tf.constant(b)
        kernels = {
            "tensorflow": tf.function(lambda: tf.matmul(a, b)),
            "xla": tf.function(lambda: tf.matmul(a, b), jit_compile=True),
        }
    elif kernel == "pytorch":
        import torch

        torch.set_num_threads(os.cpu_count())
        a, b = torch.from_numpy(a), torch.from_numpy(b)
        kernels = {"pytorch": lambda: torch.matmul(a, b)}
    else:
        import jax
        import jax.numpy as jnp

        a, b = jnp.asarray(a), jnp.asarray(b)
        jitted = jax.jit(jnp.matmul)
        kernels = {"jax": lambda: jitted(a, b).block_until_ready()}
    gflops = {}
    for name, matmul in kernels.items():
        np.asarray(matmul())
        times = []
        for _ in range(20):
            start = time.perf_counter()
            np.asarray(matmul())
            times.append(time.perf_counter() - start)
        gflops[name] = 2 * 1024**3 / np.median(times) / 1e9
    print(json.dumps({"gflops": max(gflops.values()), "kernels": gflops}))


def matmul_peak_gflops(frameworks):
    """GFLOP/s of each matmul kernel of `frameworks`, one process each;
    one that is not installed is left out."""
    kernels = {}
    for kernel in frameworks:
        out = subprocess.run(
            module_command(MODULE, ["--worker", "peak", "--kernel", kernel]),
            capture_output=True,
            text=True,
            env=worker_env(),
        )
        if out.returncode == 0:
            kernels |= json.loads(out.stdout.strip().splitlines()[-1])[
                "kernels"
            ]
        else:
            last = (out.stderr.strip().splitlines() or [""])[-1]
            print(f"matmul peak: no {kernel} kernel: {last}", file=sys.stderr)
    return kernels


def rows_of(model, backends, references):
    """The row keys of `model`, in the order the epochs alternate."""
    keys = [BACKENDS[b][0] for b in backends]
    for name in references:
        if name != "pytorch-example" or model == "mlp":
            keys.append(name)
    return keys


def run(model, keys, batch_size, limit, repeats, peak, log_dir):
    workers = {}
    for key in keys:
        print(f"{model}: starting {LABELS[key]}", file=sys.stderr, flush=True)
        workers[key] = Worker(key, model, batch_size, limit, log_dir)
        if workers[key].error:
            print(
                f"{model}: {LABELS[key]} failed: {workers[key].error}",
                file=sys.stderr,
                flush=True,
            )
    rates = {key: {} for key in workers}  # Round -> samples/s.
    losses = {key: None for key in workers}
    for repeat in range(repeats):
        for key, worker in workers.items():  # A B C A B C ...
            if worker.error:
                continue
            answer = worker.ask("epoch")
            if answer is None:
                print(
                    f"{model}: {LABELS[key]} failed: {worker.error}",
                    file=sys.stderr,
                    flush=True,
                )
                continue
            rates[key][repeat] = answer["rate"]
            losses[key] = answer["loss"]
    rss = {}
    for key, worker in workers.items():
        stats = worker.ask("stats")
        rss[key] = stats["peak_rss_mb"] if stats else None
        worker.close()
    flops = next(
        (
            w.ready["flops_per_example"]
            for k, w in workers.items()
            if k.startswith("keras") and w.ready
        ),
        None,
    )
    ceiling = next(
        (
            w.ready["matmul_ceiling_gflops"]
            for k, w in workers.items()
            if k == BASELINE and w.ready
        ),
        None,
    )
    rows = []
    for key, worker in workers.items():
        row = {"model": model, "key": key, "framework": LABELS[key]}
        if key == BASELINE and ceiling:
            row["ceiling_fraction"] = ceiling / peak
        if worker.error:
            rows.append({**row, "error": worker.error, "log": worker.log})
            continue
        median = float(np.median(list(rates[key].values())))
        row |= {
            "samples_per_s": median,
            "runs": [round(r) for r in rates[key].values()],
            "peak_fraction": median * flops / 1e9 / peak if flops else None,
            "peak_rss_mb": rss[key],
            "last_loss": losses[key],
        }
        baseline = rates.get(BASELINE, {})
        pairs = [
            (baseline[r], rates[key][r]) for r in rates[key] if r in baseline
        ]
        if key != BASELINE and pairs:  # Round by round, then the median.
            row["ratio"] = float(np.median([a / b for a, b in pairs]))
        rows.append(row)
    return rows


def targets(rows):
    """`(target, measured, met)` of keras-vae on TensorFlow in `rows`."""
    by_key = {row["key"]: row for row in rows if "error" not in row}
    baseline = by_key.get(BASELINE)
    if baseline is None:
        return [("all", "keras-vae (TensorFlow) did not run", False)]
    out = []
    loops = [
        by_key[k] for k in PYTORCH_LOOPS if k in by_key and "ratio" in by_key[k]
    ]
    goal = f">= {TARGET_PYTORCH:.1f}x the best PyTorch loop"
    if loops:
        best = max(loops, key=lambda row: row["samples_per_s"])
        ratio = best["ratio"]
        out.append(
            (goal, f"{ratio:.2f}x {best['framework']}", ratio >= TARGET_PYTORCH)
        )
    else:
        out.append((goal, "no PyTorch loop ran", False))
    goal = f">= {TARGET_JAX:.1f}x the plain JAX loop"
    if "ratio" in by_key.get("jax", {}):
        ratio = by_key["jax"]["ratio"]
        out.append((goal, f"{ratio:.2f}x", ratio >= TARGET_JAX))
    else:
        out.append((goal, "the JAX loop did not run", False))
    goal = f">= {TARGET_PEAK:.0%} of the matmul peak"
    fraction = baseline["peak_fraction"]
    if fraction is None:
        out.append((goal, "no FLOP count", False))
    else:
        measured = f"{fraction:.0%}"
        if "ceiling_fraction" in baseline:
            measured += (
                f" (its matmuls alone, nothing else: "
                f"{baseline['ceiling_fraction']:.0%})"
            )
        out.append((goal, measured, fraction >= TARGET_PEAK))
    return out


def main():
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--worker", choices=("keras-vae", *REFERENCES, "peak"), help="Internal."
    )
    parser.add_argument(
        "--kernel",
        choices=("tensorflow", "pytorch", "jax"),
        default="tensorflow",
        help="Internal: the matmul of `--worker peak`.",
    )
    parser.add_argument("--model", choices=MODELS, default="mlp")
    parser.add_argument(
        "--models", nargs="*", choices=MODELS, default=[*MODELS]
    )
    parser.add_argument(
        "--backends",
        nargs="*",
        choices=tuple(BACKENDS),
        default=[*BACKENDS],
        help="The Keras backends keras-vae trains on, one row each.",
    )
    parser.add_argument(
        "--references",
        nargs="*",
        choices=tuple(REFERENCES),
        default=[*REFERENCES],
        help="The reference loops (pytorch-example: the MLP only).",
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="A smoke test: 6,400 examples, 2 repeats.",
    )
    parser.add_argument("--output", default="docs/benchmarks/performance.md")
    args = parser.parse_args()
    if args.worker == "peak":
        return peak_worker(args.kernel)
    if args.worker:
        return run_worker(
            start_worker, args.worker, args.model, args.batch_size, args.limit
        )
    if args.quick:
        args.limit, args.repeats = 6400, 2

    frameworks = ["tensorflow"]
    if any(r.startswith("pytorch") for r in args.references) or (
        "torch" in args.backends
    ):
        frameworks.append("pytorch")
    if "jax" in args.references or "jax" in args.backends:
        frameworks.append("jax")
    kernels = matmul_peak_gflops(frameworks)
    peak = max(kernels.values())
    log_dir = tempfile.mkdtemp(prefix="throughput-")
    table = []
    for model in args.models:
        limit = args.limit if model == "mlp" else min(args.limit, 12800)
        keys = rows_of(model, args.backends, args.references)
        table.append(
            run(
                model, keys, args.batch_size, limit, args.repeats, peak, log_dir
            )
        )
    report(args, kernels, table)


def version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def report(args, kernels, table):
    lines = [
        "## Training throughput: keras-vae on TensorFlow, JAX and PyTorch "
        "against PyTorch and JAX loops",
        "",
        f"Measured {datetime.datetime.now():%Y-%m-%d %H:%M} on {machine()}, "
        f"Python {platform.python_version()}, "
        f"TensorFlow {version('tensorflow')}, Keras {version('keras')}, "
        f"PyTorch {version('torch')}, JAX {version('jax')}; "
        f"float32 matmul peak measured "
        f"{max(kernels.values()):.0f} GFLOP/s (1024x1024 by 1024x1024, "
        + ", ".join(f"{k} {v:.0f}" for k, v in kernels.items())
        + ").",
        "",
        "```bash",
        "KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python "
        f"-m {MODULE} --batch-size {args.batch_size} "
        f"--limit {args.limit} --repeats {args.repeats} "
        f"--models {' '.join(args.models)} "
        f"--backends {' '.join(args.backends)} "
        f"--references {' '.join(args.references)}"
        + (" --quick" if args.quick else "")
        + (
            f" --output {args.output}"
            if args.output != "docs/benchmarks/performance.md"
            else ""
        ),
        "```",
        "",
        "| model | framework | samples/s (median) | runs | of matmul peak "
        "| peak RSS (MB) | loss (last epoch) | keras-vae (TensorFlow) / this |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    failures = []
    for rows in table:
        for row in rows:
            cells = [row["model"], row["framework"]]
            if "error" in row:
                cells += ["failed", "", "", "", "", ""]
                failures.append(row)
            else:
                fraction = row["peak_fraction"]
                cells += [
                    f"{row['samples_per_s']:.0f}",
                    str(row["runs"]),
                    "n/a" if fraction is None else f"{fraction:.0%}",
                    f"{row['peak_rss_mb']:.0f}",
                    f"{row['last_loss']:.1f}",
                    f"**{row['ratio']:.2f}**" if "ratio" in row else "",
                ]
            lines.append("| " + " | ".join(cells) + " |")
    if failures:
        lines += ["", "Failed rows:", ""]
        lines += [
            f"- {row['model']}, {row['framework']}: "
            f"`{row['error'].replace('`', chr(39))}`"
            for row in failures
        ]
    lines += [
        "",
        "Targets of keras-vae on TensorFlow, measured side by side:",
        "",
        "| model | target | measured | |",
        "| --- | --- | --- | --- |",
    ]
    for rows in table:
        for goal, measured, met in targets(rows):
            lines.append(
                f"| {rows[0]['model']} | {goal} | {measured} "
                f"| {'met' if met else '**not met**'} |"
            )
    if args.output:
        save_report("\n".join(lines) + "\n", args.output)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
