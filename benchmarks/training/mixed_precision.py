"""Final training loss under float32, mixed_float16 and mixed_bfloat16.

Trains the 784-400-20 MLP VAE of Kingma and Welling on the full MNIST
training set (grey values, Bernoulli likelihood) for 10 epochs at batch
size 128 with Adam(1e-3), once per dtype policy, from the same initial
weights and random seed, prints the final epoch's mean
training loss and its difference to float32, and writes the table to
docs/benchmarks/mixed_precision.md.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.training.mixed_precision

The times are reported but are not the point: on a CPU the mixed policies
gain nothing (the speed-up is a GPU's), and a shared machine's times vary.
"""

import argparse
import datetime
import time

import keras

import keras_vae
from benchmarks.machine import machine

POLICIES = ("float32", "mixed_float16", "mixed_bfloat16")


def train(policy, x, weights, args):
    """Trains one VAE under `policy`; returns (final loss, seconds, the
    optimizer's final loss scale or None)."""
    keras.config.set_dtype_policy(policy)
    try:
        keras.utils.set_random_seed(args.seed)
        vae = keras_vae.build_mlp_vae(seed=args.seed)
        vae.set_weights(weights)
        vae.compile(optimizer=keras.optimizers.Adam(args.lr))
        start = time.perf_counter()
        history = vae.fit(
            x, epochs=args.epochs, batch_size=args.batch_size, verbose=2
        )
        seconds = time.perf_counter() - start
        scale = getattr(vae.optimizer, "dynamic_scale", None)
        scale = None if scale is None else float(scale)
        return history.history["loss"][-1], seconds, scale
    finally:
        keras.config.set_dtype_policy("float32")


def main():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.training.mixed_precision",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--output", default="docs/benchmarks/mixed_precision.md"
    )
    args = parser.parse_args()

    (x, _), _ = keras_vae.datasets.load_mnist()
    keras.utils.set_random_seed(args.seed)
    weights = keras_vae.build_mlp_vae(seed=args.seed).get_weights()
    results = {p: train(p, x, weights, args) for p in POLICIES}
    write_report(args, len(x), results)


def write_report(args, num_examples, results):
    reference = results["float32"][0]
    rows = [
        "| policy | final loss (nats) | vs float32 | final loss scale "
        "| minutes |",
        "|---|---:|---:|---:|---:|",
    ]
    for policy, (loss, seconds, scale) in results.items():
        scale = "-" if scale is None else f"{scale:g}"
        rows.append(
            f"| {policy} | {loss:.3f} | {100 * (loss / reference - 1):+.3f}% "
            f"| {scale} | {seconds / 60:.1f} |"
        )
    text = "\n".join(
        [
            "# Mixed precision: final training loss",
            "",
            f"The 784-400-20 MLP VAE (Bernoulli likelihood, grey values), "
            f"{args.epochs} epochs over the {num_examples:,} MNIST training "
            f"images, batch size {args.batch_size}, Adam({args.lr:g}), the "
            "same initial weights and random seed under each policy. "
            "The loss is the last epoch's mean training loss (negative "
            "ELBO, nats per image). Under `mixed_float16` Keras wraps the "
            "optimizer in a `LossScaleOptimizer` (dynamic scale, starting "
            "at 2**15); the KL and reconstruction terms are float32 under "
            "every policy.",
            "",
            *rows,
            "",
            f"Measured {datetime.date.today()} on {machine()} (the times "
            "are a CPU's, not the policies' speed on a GPU). Reproduce "
            "with:",
            "",
            "```",
            "KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python "
            "-m benchmarks.training.mixed_precision",
            "```",
            "",
        ]
    )
    print(text)
    with open(args.output, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
