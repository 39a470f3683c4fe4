"""CIFAR-10 test bits per dimension against training minutes on this CPU.

Trains one keras-vae recipe (`--model conv`, `resnet` or `hierarchical`, each
with the discretized logistic mixture over the 8-bit pixels) for a budget of
training minutes on the 50,000 training images of the CIFAR-10 JPEG copy in
../shared/data (decoded once into memory), estimates the test bits/dim on
the way (the negative ELBO of the first `--curve-n` test images) and at the
end (the negative ELBO of all 10,000 test images, and the importance-sampled
NLL of the first `--final-n` with K = `--final-k`), and writes

- docs/benchmarks/cifar10/NAME.json: the run's numbers (NAME: `--name`, default
  the model), which `--report` gathers;
- runs/cifar10/NAME.keras: the trained model;
- docs/images/cifar10/NAME_samples_T.png: prior samples (the decoded means)
  at temperatures 0.6, 0.8 and 1.0, for a hierarchical model also
  NAME_samples_T_finest_at_mean.png (the finest groups at their prior
  means), and NAME_reconstructions.png: test images above their
  reconstructions.

The hierarchical builder trains with its stability options on by default
(log-variances within ±7, gradients clipped at 200 per pixel value,
non-finite updates skipped); `--builder-args` can switch them off
(`{"log_variance_bound": null, ...}`).

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.likelihood.cifar10_bits --model resnet --minutes 60
    .venv/bin/python -m benchmarks.likelihood.cifar10_bits --report

`--report` writes docs/benchmarks/cifar10.md from the JSON files, beside
published results. The JPEG copy is not byte-identical to the original CIFAR-10
(JPEG compression changed the pixels), so the numbers compare with the published
ones only roughly. Evaluation time is not counted as training time.
"""

import argparse
import datetime
import glob
import json
import math
import os
import platform
import tarfile
import tempfile
import time

import keras
import numpy as np

import keras_vae
from benchmarks.likelihood.mnist_nll import TimeBudget
from benchmarks.machine import command_flags
from benchmarks.machine import machine
from benchmarks.machine import save_report
from benchmarks.training.streaming import ARCHIVE

TEMPERATURES = (0.6, 0.8, 1.0)
BUILDERS = {
    "conv": "build_conv_vae",
    "resnet": "build_resnet_vae",
    "hierarchical": "build_hierarchical_vae",
}
#: Published test bits/dim on CIFAR-10 (the original PNG-exact images), with
#: the compute their authors report.
PUBLISHED = [
    (
        "PixelCNN++ (Salimans et al., 2017; autoregressive, not a VAE)",
        "2.92",
        "8 Maxwell TITAN X GPUs, about 5 days (3.0 after about 10 hours), "
        "openai/pixel-cnn README",
    ),
    (
        "IAF-VAE (Kingma et al., 2016)",
        "3.11",
        "GPUs; compute not restated here",
    ),
    (
        "NVAE (Vahdat and Kautz, 2020)",
        "2.91",
        "8 16-GB V100 GPUs, about 55 hours, NVlabs/NVAE README",
    ),
    (
        "VDVAE (Child, 2021; mean of 4 seeds)",
        "2.87",
        "39M parameters, 2 GPUs (V100), ~1M iterations, a little less than "
        "a week, openai/vdvae README",
    ),
]


def load_cifar10(directory):
    """`(x_train, x_test)`, uint8 `(n, 32, 32, 3)`, from the JPEG folder."""
    arrays = []
    for part in ("train", "test"):
        dataset = keras_vae.datasets.image_folder(
            os.path.join(directory, part),
            image_size=(32, 32),
            channels=3,
            batch_size=1000,
            labels=None,
            shuffle=False,
        )
        arrays.append(np.concatenate(list(dataset.as_numpy_iterator())))
    return arrays


def likelihood(num_mixtures):
    """The pixel likelihood of `num_mixtures` components (1: one
    discretized logistic, without mixture logits)."""
    if num_mixtures == 1:
        return keras_vae.likelihoods.DiscretizedLogistic()
    return keras_vae.likelihoods.DiscretizedLogisticMixture(num_mixtures)


def build(args):
    builder = getattr(keras_vae, BUILDERS[args.model])
    return builder(
        (32, 32, 3),
        likelihood=likelihood(args.num_mixtures),
        seed=args.seed,
        **json.loads(args.builder_args),
    )


def bits(nll):
    return nll / (32 * 32 * 3 * math.log(2))


def train(args):
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(tmp, filter="data")
        x_train, x_test = load_cifar10(tmp)
    keras.utils.set_random_seed(args.seed)
    vae = build(args)
    vae.compile(optimizer=keras.optimizers.Adam(args.lr))
    curve_x = x_test[: args.curve_n]

    def evaluate():
        logs = vae.evaluate(
            curve_x, batch_size=250, verbose=0, return_dict=True
        )
        return {"bits_per_dim": round(float(logs["bits_per_dim"]), 4)}

    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    budget = TimeBudget(
        args.minutes * 60,
        args.eval_every * 60,
        evaluate,
        args.lr,
        args.min_lr,
        steps=args.epochs and args.epochs * steps_per_epoch,
    )
    start = time.perf_counter()
    vae.fit(
        x_train,
        batch_size=args.batch_size,
        epochs=args.epochs or 1_000_000,
        callbacks=[budget],
        verbose=0,
    )
    wall = time.perf_counter() - start
    # Steps of full batches but the last of each epoch: the images seen.
    steps = int(vae.optimizer.iterations)
    images = steps * args.batch_size - (steps // steps_per_epoch) * (
        steps_per_epoch * args.batch_size - len(x_train)
    )
    images_per_second = images / budget.trained
    for row in budget.curve:
        row["epochs"] = round(row["steps"] / steps_per_epoch, 2)
    start = time.perf_counter()
    elbo = vae.evaluate(x_test, batch_size=250, verbose=0, return_dict=True)
    ll = keras_vae.evaluation.log_likelihood(
        vae, x_test[: args.final_n], num_samples=args.final_k, seed=0
    )
    eval_minutes = (time.perf_counter() - start) / 60
    result = {
        "model": args.model,
        "name": args.name,
        "num_mixtures": args.num_mixtures,
        "command": command_flags(args),
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": machine(),
        "python": platform.python_version(),
        "keras": keras.__version__,
        "parameters": int(vae.count_params()),
        "minutes": args.minutes,
        "epochs": args.epochs,
        "wall_minutes": wall / 60,
        "images_per_second": images_per_second,
        "load_average": os.getloadavg()[0],
        "curve": budget.curve,
        "test_elbo_bits_per_dim": float(elbo["bits_per_dim"]),
        # Each latent group's KL in nats per image (hierarchical models).
        "kl_groups": [
            float(elbo[f"kl_group_{i}"])
            for i in range(getattr(vae, "num_groups", 0))
        ],
        "test_nll_bits_per_dim": float(bits(-ll.mean())),
        "test_nll_stderr": float(bits(ll.std() / math.sqrt(len(ll)))),
        "final_k": args.final_k,
        "final_n": args.final_n,
        "eval_minutes": eval_minutes,
    }
    model_output = args.model_output or f"runs/cifar10/{args.name}.keras"
    os.makedirs(os.path.dirname(model_output) or ".", exist_ok=True)
    vae.save(model_output)
    save_pictures(vae, x_test, args.name)
    os.makedirs("docs/benchmarks/cifar10", exist_ok=True)
    with open(f"docs/benchmarks/cifar10/{args.name}.json", "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))


def finest_at_mean(vae, num_samples, temperature, seed=0):
    """Ancestral samples of a `HierarchicalVAE` with every group drawn at
    `temperature` but those of the finest resolution, set to their prior
    means (temperature 0): on CIFAR-10 those groups' prior draws are what
    turns the samples into noise textures (see the notes of
    docs/benchmarks/cifar10.md)."""
    shapes = vae.group_shapes
    finest = max(math.prod(s[:-1]) for s in shapes)
    scales = np.concatenate(
        [
            np.full(math.prod(s), 0.0 if math.prod(s[:-1]) == finest else 1.0)
            for s in shapes
        ]
    )
    noise = np.random.default_rng(seed).standard_normal(
        (num_samples,) + vae.latent_shape
    )
    noise = (noise * scales * temperature).astype("float32")
    return vae.decode(keras.ops.convert_to_numpy(vae.ancestral_latents(noise)))


def save_pictures(vae, x_test, name):
    import matplotlib.image

    from keras_vae.plotting import image_grid
    from keras_vae.plotting import interleave_rows

    os.makedirs("docs/images/cifar10", exist_ok=True)
    for t in TEMPERATURES:
        samples = vae.sample(64, seed=0, temperature=t)
        matplotlib.image.imsave(
            f"docs/images/cifar10/{name}_samples_{t:.1f}.png",
            image_grid(samples / 255, 8),
        )
        if isinstance(vae, keras_vae.HierarchicalVAE):
            matplotlib.image.imsave(
                f"docs/images/cifar10/{name}_samples_{t:.1f}_finest_at_mean"
                ".png",
                image_grid(finest_at_mean(vae, 64, t) / 255, 8),
            )
    # Two test images of each class (the folder is in class order).
    picked = x_test[:: len(x_test) // 16][:16]
    pairs = interleave_rows(picked / 255, vae.reconstruct(picked) / 255, 8)
    matplotlib.image.imsave(
        f"docs/images/cifar10/{name}_reconstructions.png",
        image_grid(pairs, 8),
    )


def report(args):
    runs = []
    for path in sorted(glob.glob("docs/benchmarks/cifar10/*.json")):
        with open(path) as f:
            runs.append(json.load(f))
    order = list(BUILDERS)
    runs.sort(
        key=lambda run: (
            order.index(run["model"]),
            run["curve"][-1]["minutes"],
            run.get("name", ""),
        )
    )
    lines = [
        "# CIFAR-10 bits per dimension on a 2-core CPU",
        "",
        "Each recipe trains for a budget of epochs or of training minutes "
        "(evaluation not counted) on the 50,000 training images of the "
        "CIFAR-10 JPEG "
        "copy in ../shared/data, with a discretized logistic mixture "
        "(PixelCNN++'s coupled RGB; `components` of them, 1 for a single "
        "discretized logistic) over the 8-bit pixels. "
        "The JPEG copy is not byte-identical to CIFAR-10 (compression "
        "changed the pixels), so compare with published numbers only "
        "roughly. Lower is better.",
        "",
        "| run | builder | components | parameters | epochs | training "
        "minutes | images/s | test -ELBO (bits/dim, 10,000 images) | test "
        "NLL (bits/dim, IS) | measured |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for run in runs:
        lines.append(
            f"| {run.get('name', run['model'])} | {run['model']} | "
            f"{run.get('num_mixtures', 10)} | {run['parameters']:,} | "
            f"{run['curve'][-1].get('epochs', run['curve'][-1]['epoch'])} | "
            f"{run['curve'][-1]['minutes']:.1f} "
            f"| {run['images_per_second'] or 0:,.0f} | "
            f"{run['test_elbo_bits_per_dim']:.3f} | "
            f"{run['test_nll_bits_per_dim']:.3f} ± "
            f"{run['test_nll_stderr']:.3f} (K = {run['final_k']}, first "
            f"{run['final_n']}) | {run['date']}, load "
            f"{run['load_average']:.1f} |"
        )
    for run in runs:
        name = run.get("name", run["model"])
        lines += [
            "",
            f"## {name}",
            "",
            "```bash",
            "KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python "
            f"-m benchmarks.likelihood.cifar10_bits {run['command']}",
            "```",
            "",
            f"{run['machine']}, Python {run['python']}, Keras {run['keras']}.",
            "",
            "| training minutes | epochs | test -ELBO (bits/dim) |",
            "| ---: | ---: | ---: |",
        ]
        for row in run["curve"]:
            lines.append(
                f"| {row['minutes']:.1f} | {row.get('epochs', row['epoch'])} | "
                f"{row['bits_per_dim']:.3f} |"
            )
        lines += [
            "",
            "Samples (decoded means) at temperatures "
            + ", ".join(f"{t:.1f}" for t in TEMPERATURES)
            + ", and test images above their reconstructions:",
            "",
        ]
        pictures = [
            (f"{name} samples at T={t:.1f}", f"{name}_samples_{t:.1f}.png")
            for t in TEMPERATURES
        ] + [(f"{name} reconstructions", f"{name}_reconstructions.png")]
        # Hierarchical runs: the finest groups at their prior means too.
        pictures += [
            (
                f"{name} samples at T={t:.1f}, finest groups at their means",
                f"{name}_samples_{t:.1f}_finest_at_mean.png",
            )
            for t in TEMPERATURES
            if os.path.exists(
                f"docs/images/cifar10/{name}_samples_{t:.1f}_finest_at_mean.png"
            )
        ]
        for title, file in pictures:
            if os.path.exists(f"docs/images/cifar10/{file}"):
                lines.append(f"![{title}](../images/cifar10/{file})")
            else:
                lines.append(f"({title}: no picture, see the notes)")
    lines += [
        "",
        "## Published results",
        "",
        "| model | test bits/dim | compute |",
        "| --- | ---: | --- |",
    ]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in PUBLISHED]
    save_report("\n".join(lines) + "\n", args.output)


def main():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.likelihood.cifar10_bits",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--model", choices=tuple(BUILDERS), default="conv")
    parser.add_argument(
        "--name",
        default=None,
        help="The run's name: docs/benchmarks/cifar10/NAME.json and the "
        "pictures' prefix (default: the model).",
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
    parser.add_argument("--eval-every", type=float, default=10.0)
    parser.add_argument(
        "--num-mixtures",
        type=int,
        default=10,
        help="Components of the discretized logistic mixture (1: one "
        "discretized logistic).",
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--min-lr", type=float, default=1e-5)
    parser.add_argument("--curve-n", type=int, default=2000)
    parser.add_argument("--final-k", type=int, default=100)
    parser.add_argument("--final-n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--builder-args",
        default="{}",
        help="JSON of the builder's keyword arguments, e.g. "
        "'{\"latent_dim\": 128}'.",
    )
    parser.add_argument(
        "--model-output",
        default=None,
        help="Where the trained model is saved (default: "
        "runs/cifar10/NAME.keras), to draw more pictures from it later.",
    )
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--output", default="docs/benchmarks/cifar10.md")
    args = parser.parse_args()
    if args.name is None:
        args.name = args.model
    if args.report:
        report(args)
    else:
        train(args)


if __name__ == "__main__":
    main()
