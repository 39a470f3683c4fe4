"""Test NLL on dynamically binarized MNIST against training minutes.

Trains a keras-vae recipe for a fixed budget of training minutes on the
dynamically binarized MNIST training set, estimates the test NLL on the way
(importance sampling, small K, a test subset) and at the end (K=5000, all
10,000 test images), prints a table and writes it to
docs/benchmarks/mnist_nll.md.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.likelihood.mnist_nll

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

import keras_vae
from benchmarks.machine import command_flags
from benchmarks.machine import machine
from benchmarks.machine import save_report
from keras_vae.datasets import binarize
from keras_vae.datasets import dynamic_binarization
from keras_vae.evaluation import active_units
from keras_vae.evaluation import log_likelihood

#: The NLL each model is held to, in nats, and where the number comes from.
REFERENCES = {
    "mlp": (
        86.76,
        "the 86.76 nats of Burda et al. 2015 (Table 1, VAE, one stochastic "
        "layer, k = 1)",
    ),
    "hierarchical": (
        84.0,
        "the target of 84.0 nats for a hierarchy in 60 training minutes "
        "(IWAE with two stochastic layers: 82.90 after 3,280 epochs, Burda "
        "et al. 2015, Table 1)",
    ),
}
TEMPERATURES = (0.6, 0.8, 1.0)


class TimeBudget(keras.callbacks.Callback):
    """Cosine learning-rate decay over a budget of training seconds, with a
    stop when it is spent and NLL estimates every `eval_every` seconds.

    Evaluation time is excluded from the training clock. The clock and the
    learning rate are updated after every execution of the training
    function, so a budget ends within one execution (32 steps), not at the
    end of an epoch; the estimates are made at the end of an epoch, and once
    more when the budget ends mid-epoch.

    With `steps`, the budget is that many optimizer steps instead (the
    decay follows the steps and `seconds` is ignored): the same recipe then
    does the same work on any machine and under any load, which a budget of
    minutes does not (the same 30 minutes trained 206 and 301 CIFAR-10
    images a second in two runs here)."""

    #: Acts once per execution of the training function: fit keeps its
    #: default of 32 steps per execution.
    batch_hooks_per_execution = True

    def __init__(self, seconds, eval_every, evaluate, lr, min_lr, steps=None):
        super().__init__()
        self.seconds = seconds
        self.steps = steps
        self.eval_every = eval_every
        self.evaluate = evaluate
        self.lr = lr
        self.min_lr = min_lr
        self.trained = 0.0
        self.next_eval = eval_every
        self.curve = []

    def _elapsed(self):
        return self.trained + time.perf_counter() - self.start

    def _progress(self, elapsed):
        if self.steps is not None:
            return int(self.model.optimizer.iterations) / self.steps
        return elapsed / self.seconds

    def _set_learning_rate(self, elapsed):
        progress = min(1.0, self._progress(elapsed))
        lr = self.min_lr + 0.5 * (self.lr - self.min_lr) * (
            1 + math.cos(math.pi * progress)
        )
        self.model.optimizer.learning_rate.assign(lr)

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()
        self._set_learning_rate(self.trained)

    def on_train_batch_end(self, batch, logs=None):
        elapsed = self._elapsed()
        self._set_learning_rate(elapsed)
        if self._progress(elapsed) >= 1:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.trained = self._elapsed()
        done = self._progress(self.trained) >= 1
        if self.trained >= self.next_eval or done:
            self.next_eval += self.eval_every
            row = self.evaluate()
            row.update(
                epoch=epoch + 1,
                steps=int(self.model.optimizer.iterations),
                minutes=round(self.trained / 60, 2),
                train_loss=float(logs["loss"]),
            )
            self.curve.append(row)
            print(json.dumps(row), flush=True)
        if done:
            self.model.stop_training = True


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.likelihood.mnist_nll",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=60.0,
        help="The budget in training minutes (ignored with --epochs).",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="The budget in epochs instead of minutes: the same work, and "
        "so the same result for a seed, on any machine and under any load.",
    )
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
    parser.add_argument(
        "--final-n",
        type=int,
        default=10_000,
        help="Test images in the final estimate (the first N); the "
        "convolutional hierarchical model costs seconds per image at "
        "K = 5000 on 2 cores.",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--warmup-epochs",
        type=float,
        default=0,
        help="A KL warm-up from beta = 0 to 1 over this many epochs "
        "(keras_vae.callbacks.KLWarmup; 0 is off).",
    )
    parser.add_argument(
        "--model",
        choices=("mlp", "hierarchical", "hierarchical-mlp"),
        default="mlp",
        help="mlp: build_mlp_vae with the options above; hierarchical: "
        "build_hierarchical_vae with --builder-args; hierarchical-mlp: "
        "build_hierarchical_mlp_vae with --builder-args.",
    )
    parser.add_argument(
        "--builder-args",
        default="{}",
        help="JSON of the hierarchical builder's keyword arguments, e.g. "
        '\'{"log_variance_bound": 7, "skip_gradient_norm": Infinity}\' '
        "(skip only non-finite updates).",
    )
    parser.add_argument(
        "--prior",
        choices=("standard", "mog", "vamp"),
        default="standard",
        help="The prior p(z) (of the top group for a hierarchy): standard "
        "N(0, I), mog (keras_vae.priors.MixtureOfGaussians) or vamp "
        "(keras_vae.priors.VampPrior).",
    )
    parser.add_argument(
        "--prior-components",
        type=int,
        default=None,
        help="Components of mog (default 10) or pseudo-inputs of vamp "
        "(default 500, as Tomczak and Welling's MNIST experiments).",
    )
    parser.add_argument(
        "--vamp-init",
        choices=("normal", "data"),
        default="normal",
        help="The VampPrior's pseudo-inputs: N(0.05, 0.01) per value, or "
        "training images chosen at random (VampPrior.initialize_from). "
        "Default: normal.",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="TensorFlow's intra-op (compute) threads (default: all "
        "cores); 1 for runs side by side (benchmarks.likelihood.priors).",
    )
    parser.add_argument(
        "--result",
        default=None,
        help="Also write the final numbers and the curve to this JSON file.",
    )
    parser.add_argument(
        "--pictures",
        default=None,
        help="Folder of the sample and reconstruction pictures. Default: "
        "docs/images/mnist_nll_<model>.",
    )
    parser.add_argument(
        "--optimizer",
        choices=("adam", "adamax"),
        default="adam",
        help="adamax: as NVAE and VDVAE train their hierarchies.",
    )
    parser.add_argument(
        "--output",
        default=None,
        help="Default: docs/benchmarks/mnist_nll.md, "
        "docs/benchmarks/mnist_nll_hierarchical.md for the hierarchical "
        "models.",
    )
    parser.add_argument(
        "--model-output", default="saved_models/mnist_nll.keras"
    )
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = (
            "docs/benchmarks/mnist_nll_hierarchical.md"
            if args.model.startswith("hierarchical")
            else "docs/benchmarks/mnist_nll.md"
        )
    return args


def prior_for(args):
    """The `prior=` of the builder for `--prior` and `--prior-components`
    (without it, the prior class's own default)."""
    if args.prior == "standard":
        return None
    prior_class = {
        "mog": keras_vae.priors.MixtureOfGaussians,
        "vamp": keras_vae.priors.VampPrior,
    }[args.prior]
    if args.prior_components is None:
        return prior_class(seed=args.seed)
    return prior_class(args.prior_components, seed=args.seed)


def main():
    args = parse_args()
    if args.threads:
        import tensorflow as tf

        # The compute threads; the input pipeline keeps its own (with one
        # inter-op thread the steps wait on their batches).
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)

    keras.utils.set_random_seed(args.seed)
    (x_train, _), (x_test, _) = keras_vae.datasets.load_mnist()
    x_test = binarize(x_test, seed=1234)
    train = dynamic_binarization(x_train, args.batch_size, seed=args.seed)
    prior = prior_for(args)
    if args.model.startswith("hierarchical"):
        builder = {
            "hierarchical": keras_vae.build_hierarchical_vae,
            "hierarchical-mlp": keras_vae.build_hierarchical_mlp_vae,
        }[args.model]
        vae = builder(
            input_shape=(28, 28, 1),
            seed=args.seed,
            prior=prior,
            **json.loads(args.builder_args),
        )
    else:
        vae = keras_vae.build_mlp_vae(
            input_shape=(28, 28, 1),
            latent_dim=args.latent_dim,
            hidden_units=tuple(args.hidden_units),
            activation=args.activation,
            seed=args.seed,
            prior=prior,
        )
    if args.prior == "vamp" and args.vamp_init == "data":
        vae.prior.initialize_from(x_train, seed=args.seed)
    optimizer = {
        "adam": keras.optimizers.Adam,
        "adamax": keras.optimizers.Adamax,
    }
    vae.compile(optimizer=optimizer[args.optimizer](args.lr))

    def evaluate():
        subset = x_test[: args.curve_n]
        ll = log_likelihood(vae, subset, num_samples=args.curve_k, seed=0)
        elbo = vae.evaluate(subset, batch_size=500, verbose=0, return_dict=True)
        return {
            "nll": round(float(-ll.mean()), 3),
            "negative_elbo": round(float(elbo["loss"]), 3),
        }

    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    budget = TimeBudget(
        args.minutes * 60,
        args.eval_every * 60,
        evaluate,
        args.lr,
        args.min_lr,
        steps=args.epochs and args.epochs * steps_per_epoch,
    )
    callbacks = [budget]
    if args.warmup_epochs:
        callbacks.append(
            keras_vae.callbacks.KLWarmup(
                warmup_steps=round(args.warmup_epochs * steps_per_epoch)
            )
        )
    vae.fit(
        train,
        epochs=args.epochs or 1_000_000,
        callbacks=callbacks,
        shuffle=False,
        verbose=0,
    )

    start = time.perf_counter()
    ll = log_likelihood(
        vae, x_test[: args.final_n], num_samples=args.final_k, seed=0
    )
    eval_minutes = (time.perf_counter() - start) / 60
    nll = float(-ll.mean())
    stderr = float(ll.std() / math.sqrt(len(ll)))
    elbo = vae.evaluate(x_test, batch_size=500, verbose=0, return_dict=True)
    units = active_units(vae, x_test)[0] if args.model == "mlp" else None
    parameters = vae.count_params()
    os.makedirs(os.path.dirname(args.model_output) or ".", exist_ok=True)
    vae.save(args.model_output)
    write_report(
        args,
        prior,
        budget.curve,
        nll,
        stderr,
        elbo,
        units,
        eval_minutes,
        parameters,
    )
    save_pictures(
        vae, x_test, args.pictures or f"docs/images/mnist_nll_{args.model}"
    )
    if args.result:
        result = {
            "prior": args.prior,
            "nll": nll,
            "stderr": stderr,
            "negative_elbo": float(elbo["loss"]),
            "reconstruction_loss": float(elbo["reconstruction_loss"]),
            "kl_loss": float(elbo["kl_loss"]),
            "active_units": units,
            "eval_minutes": eval_minutes,
            "parameters": parameters,
            "curve": budget.curve,
        }
        with open(args.result, "w") as f:
            json.dump(result, f, indent=2)


def save_pictures(vae, x_test, folder):
    """Prior samples (the decoded means) at temperatures 0.6, 0.8 and 1.0,
    and 32 test images above their reconstructions."""
    import matplotlib.image

    from keras_vae.plotting import image_grid
    from keras_vae.plotting import interleave_rows

    os.makedirs(folder, exist_ok=True)
    for t in TEMPERATURES:
        samples = vae.sample(64, seed=0, temperature=t)
        matplotlib.image.imsave(
            f"{folder}/samples_{t:.1f}.png",
            image_grid(samples, 8),
            cmap="gray",
        )
    picked = x_test[:32]
    pairs = interleave_rows(picked, vae.reconstruct(picked), 8)
    matplotlib.image.imsave(
        f"{folder}/reconstructions.png",
        image_grid(pairs, 8),
        cmap="gray",
    )


def test_images(n):
    if n >= 10_000:
        return "all 10,000 test images"
    return f"the first {n:,} test images"


def recipe(args, prior, parameters):
    """The model of the report's recipe line; `prior` is the built one
    (`None` for the standard normal), so its size is the one trained."""
    if prior is None:
        prior = ""
    elif isinstance(prior, keras_vae.priors.MixtureOfGaussians):
        prior = f", prior `MixtureOfGaussians({prior.num_components})`"
    else:
        prior = f", prior `VampPrior({prior.num_pseudo_inputs})`" + (
            " initialized from training images"
            if args.vamp_init == "data"
            else ""
        )
    if args.model.startswith("hierarchical"):
        builder = args.model.replace("-", "_")
        return (
            f"`build_{builder}_vae((28, 28, 1), **"
            f"{args.builder_args})`, {parameters:,} parameters{prior}"
        )
    return (
        f"MLP VAE 784-{'-'.join(map(str, args.hidden_units))}-"
        f"{args.latent_dim} ({args.activation}){prior}"
    )


def write_report(
    args, prior, curve, nll, stderr, elbo, units, eval_minutes, parameters
):
    reference, source = REFERENCES[
        "hierarchical" if args.model.startswith("hierarchical") else "mlp"
    ]
    verdict = "meets" if nll <= reference else "misses"
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
        "-m benchmarks.likelihood.mnist_nll " + command_flags(args),
        "```",
        "",
        f"Recipe: {recipe(args, prior, parameters)}, Bernoulli decoder, "
        f"{args.optimizer.capitalize()} "
        f"{args.lr:g} with cosine decay to {args.min_lr:g} over "
        + (
            f"{args.epochs} epochs"
            if args.epochs
            else f"{args.minutes:g} training minutes"
        )
        + f", batch {args.batch_size}, "
        + (
            f"a KL warm-up over {args.warmup_epochs:g} epochs, "
            if args.warmup_epochs
            else ""
        )
        + "the training set binarized afresh every epoch, the test set "
        "binarized once (seed 1234).",
        "",
        f"## Final: test NLL {nll:.2f} ± {stderr:.2f} nats (K = "
        f"{args.final_k}, {test_images(args.final_n)})",
        "",
        f"-ELBO {elbo['loss']:.2f} (reconstruction "
        f"{elbo['reconstruction_loss']:.2f}, KL {elbo['kl_loss']:.2f}"
        + "".join(
            f", group {i} {elbo[f'kl_group_{i}']:.2f}"
            for i in range(len(elbo))
            if f"kl_group_{i}" in elbo
        )
        + "); "
        + (
            f"{units} active units of {args.latent_dim}; "
            if args.model == "mlp"
            else ""
        )
        + "the estimate took "
        f"{eval_minutes:.1f} minutes. It {verdict} {source}.",
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
