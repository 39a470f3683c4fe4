"""Test NLL on dynamically binarized MNIST against training minutes.

Trains a keras-vae recipe for a fixed budget of training minutes on the
dynamically binarized MNIST training set, estimates the test NLL on the way
(importance sampling, small K, a test subset) and at the end (K=5000, all
10,000 test images), prints a table and writes it to docs/mnist_nll.md.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python benchmarks/mnist_nll.py

The test set is binarized once, with a fixed seed. Evaluation time is not
counted as training time.
"""

import argparse
import datetime
import json
import math
import os
import platform
import time

import keras
from machine import command_flags
from machine import machine
from machine import save_report

import keras_vae
from keras_vae.datasets import binarize
from keras_vae.datasets import dynamic_binarization
from keras_vae.evaluation import active_units
from keras_vae.evaluation import log_likelihood

REFERENCE = 86.76  # Burda et al. 2015, Table 1: VAE, one stochastic layer.


class TimeBudget(keras.callbacks.Callback):
    """Cosine learning-rate decay over a budget of training seconds, with a
    stop when it is spent and NLL estimates every `eval_every` seconds.

    Evaluation time is excluded from the training clock."""

    def __init__(self, seconds, eval_every, evaluate, lr, min_lr):
        super().__init__()
        self.seconds = seconds
        self.eval_every = eval_every
        self.evaluate = evaluate
        self.lr = lr
        self.min_lr = min_lr
        self.trained = 0.0
        self.next_eval = eval_every
        self.curve = []

    def on_epoch_begin(self, epoch, logs=None):
        progress = min(1.0, self.trained / self.seconds)
        lr = self.min_lr + 0.5 * (self.lr - self.min_lr) * (
            1 + math.cos(math.pi * progress)
        )
        self.model.optimizer.learning_rate.assign(lr)
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.trained += time.perf_counter() - self.start
        done = self.trained >= self.seconds
        if self.trained >= self.next_eval or done:
            self.next_eval += self.eval_every
            row = self.evaluate()
            row.update(
                epoch=epoch + 1,
                minutes=round(self.trained / 60, 2),
                train_loss=float(logs["loss"]),
            )
            self.curve.append(row)
            print(json.dumps(row), flush=True)
        if done:
            self.model.stop_training = True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--eval-every", type=float, default=5.0)
    parser.add_argument(
        "--hidden-units", type=int, nargs="*", default=[512, 512]
    )
    parser.add_argument("--latent-dim", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--min-lr", type=float, default=1e-5)
    parser.add_argument("--activation", default="tanh")
    parser.add_argument("--curve-k", type=int, default=500)
    parser.add_argument("--curve-n", type=int, default=2000)
    parser.add_argument("--final-k", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default="docs/mnist_nll.md")
    parser.add_argument(
        "--model-output", default="saved_models/mnist_nll.keras"
    )
    args = parser.parse_args()

    keras.utils.set_random_seed(args.seed)
    (x_train, _), (x_test, _) = keras_vae.datasets.load_mnist()
    x_test = binarize(x_test, seed=1234)
    train = dynamic_binarization(x_train, args.batch_size, seed=args.seed)
    vae = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1),
        latent_dim=args.latent_dim,
        hidden_units=tuple(args.hidden_units),
        activation=args.activation,
        seed=args.seed,
    )
    vae.compile(optimizer=keras.optimizers.Adam(args.lr))

    def evaluate():
        subset = x_test[: args.curve_n]
        ll = log_likelihood(vae, subset, num_samples=args.curve_k, seed=0)
        elbo = vae.evaluate(subset, batch_size=500, verbose=0, return_dict=True)
        return {
            "nll": round(float(-ll.mean()), 3),
            "negative_elbo": round(float(elbo["loss"]), 3),
        }

    budget = TimeBudget(
        args.minutes * 60, args.eval_every * 60, evaluate, args.lr, args.min_lr
    )
    vae.fit(
        train, epochs=1_000_000, callbacks=[budget], shuffle=False, verbose=0
    )

    start = time.perf_counter()
    ll = log_likelihood(vae, x_test, num_samples=args.final_k, seed=0)
    eval_minutes = (time.perf_counter() - start) / 60
    nll = float(-ll.mean())
    stderr = float(ll.std() / math.sqrt(len(ll)))
    elbo = vae.evaluate(x_test, batch_size=500, verbose=0, return_dict=True)
    units, _ = active_units(vae, x_test)
    os.makedirs(os.path.dirname(args.model_output) or ".", exist_ok=True)
    vae.save(args.model_output)
    write_report(args, budget.curve, nll, stderr, elbo, units, eval_minutes)


def write_report(args, curve, nll, stderr, elbo, units, eval_minutes):
    verdict = "meets" if nll <= REFERENCE else "misses"
    lines = [
        "# Test NLL on dynamically binarized MNIST",
        "",
        f"Measured {datetime.date.today()} on {machine()},"
        f" Python {platform.python_version()}, TensorFlow CPU wheels, "
        f"Keras {keras.__version__}.",
        "",
        "Command:",
        "",
        "```bash",
        "KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python "
        "benchmarks/mnist_nll.py " + command_flags(args),
        "```",
        "",
        f"Recipe: MLP VAE 784-{'-'.join(map(str, args.hidden_units))}-"
        f"{args.latent_dim} ({args.activation}), Bernoulli decoder, Adam "
        f"{args.lr:g} with cosine decay to {args.min_lr:g} over "
        f"{args.minutes:g} training minutes, batch {args.batch_size}, the "
        "training set binarized afresh every epoch, the test set binarized "
        "once (seed 1234).",
        "",
        f"## Final: test NLL {nll:.2f} ± {stderr:.2f} nats (K = "
        f"{args.final_k}, all 10,000 test images)",
        "",
        f"-ELBO {elbo['loss']:.2f} (reconstruction "
        f"{elbo['reconstruction_loss']:.2f}, KL {elbo['kl_loss']:.2f}); "
        f"{units} active units of {args.latent_dim}; the estimate took "
        f"{eval_minutes:.1f} minutes. It {verdict} the {REFERENCE} nats of "
        "Burda et al. 2015 (Table 1, VAE, one stochastic layer, k = 1).",
        "",
        f"## NLL against training minutes (K = {args.curve_k}, first "
        f"{args.curve_n} test images)",
        "",
        "| training minutes | epochs | test NLL | test -ELBO | train loss |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in curve:
        lines.append(
            f"| {row['minutes']:.1f} | {row['epoch']} | {row['nll']:.2f} | "
            f"{row['negative_elbo']:.2f} | {row['train_loss']:.2f} |"
        )
    save_report("\n".join(lines) + "\n", args.output)


if __name__ == "__main__":
    main()
