"""Generation side by side with pythae, at equal training minutes.

Each run trains one model for `--minutes` of training on the training split
(of the full MNIST, grey levels in [0, 1], or of the CIFAR-10 JPEG copy in
../shared/data), draws `--samples` images with the prior and with a
10-component Gaussian mixture fitted to the encoded training set, and writes
them to runs/quality/DATASET/RUN_SAMPLER.npz and its numbers to
docs/benchmarks/quality/DATASET_RUN.json:

- `--run pythae`: pythae's VAE with its NormalSampler and
  GaussianMixtureSampler, in a worker process of a Python that has pythae
  and PyTorch (`--pythae-python`; benchmarks/quality/pythae_worker.py);
- `--run conv`: `keras_vae.build_conv_vae`, the same encoder and decoder
  as pythae's worker layer for layer, with `keras_vae.samplers`;
- `--run hierarchical`: the package's best recipe for samples, a
  `build_hierarchical_mlp_vae` (MNIST) or `build_hierarchical_vae` (CIFAR-10)
  with the mixture fitted to its top group.

`--report` measures every run's samples against the 10,000 test images with
`keras_vae.evaluation.sample_quality` (the shipped feature network of the
dataset) and writes docs/benchmarks/side_by_side_DATASET.md with sample
grids in docs/images/side_by_side/.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.quality.side_by_side --dataset mnist --minutes 10 \\
        --run pythae --pythae-python ../pythae-venv/bin/python
    ... --run conv; ... --run hierarchical; ... --report

Run one run at a time on a quiet machine: the minutes are wall-clock
training minutes. Or start the three at once with `--threads 1`, each on
its share of the cores (the same compute for each; how
docs/benchmarks/side_by_side_cifar10.md was measured).
"""

import argparse
import json
import os
import subprocess
import tempfile
import time

import keras
import numpy as np

import keras_vae
from benchmarks.likelihood.mnist_nll import TimeBudget
from benchmarks.machine import ROOT
from benchmarks.machine import command_flags
from benchmarks.machine import machine
from benchmarks.machine import save_report
from benchmarks.quality.datasets import load

RUNS = ("pythae", "conv", "hierarchical")
REPORTS = os.path.join(ROOT, "docs", "benchmarks", "quality")
IMAGES = os.path.join(ROOT, "docs", "images", "side_by_side")
LATENT_DIM = 16
#: The builder of each keras-vae run, per dataset.
RECIPES = {
    ("mnist", "conv"): lambda: keras_vae.build_conv_vae(
        (28, 28, 1), latent_dim=LATENT_DIM
    ),
    # One discretized logistic per pixel, as the CIFAR-10 bits/dim recipes:
    # within minutes of a CPU more steps are worth more than the mixture's
    # components (docs/benchmarks/cifar10.md).
    ("cifar10", "conv"): lambda: keras_vae.build_conv_vae(
        (32, 32, 3),
        latent_dim=LATENT_DIM,
        likelihood=keras_vae.likelihoods.DiscretizedLogistic(),
    ),
    ("mnist", "hierarchical"): lambda: keras_vae.build_hierarchical_mlp_vae(
        (28, 28, 1)
    ),
    # The hierarchical-1 recipe of docs/benchmarks/cifar10.md.
    ("cifar10", "hierarchical"): lambda: keras_vae.build_hierarchical_vae(
        (32, 32, 3),
        filters=(32, 64),
        latent_channels=((8, 8), (8,)),
        likelihood=keras_vae.likelihoods.DiscretizedLogistic(),
    ),
}
#: Extra draws of a run: name -> the temperature of each latent group. The
#: CIFAR-10 hierarchy's 16x16 group draws a noise texture from its prior;
#: at its prior mean the samples are smooth (docs/benchmarks/cifar10.md).
COLD = {("cifar10", "hierarchical"): {"mixture_16x16_at_mean": (1.0, 1.0, 0.0)}}


def runs_dir(dataset):
    return os.path.join(ROOT, "runs", "quality", dataset)


def run_pythae(args, x_train, x_test):
    scale = 255.0 if args.dataset == "cifar10" else 1.0
    os.makedirs(runs_dir(args.dataset), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        np.savez(
            data,
            x_train=(x_train / scale).astype("float32"),
            x_test=(x_test / scale).astype("float32"),
        )
        out = os.path.join(runs_dir(args.dataset), "pythae")
        subprocess.run(
            [
                args.pythae_python,
                os.path.join(ROOT, "benchmarks", "quality", "pythae_worker.py"),
                f"--data={data}",
                f"--minutes={args.minutes}",
                f"--latent-dim={LATENT_DIM}",
                f"--loss={'mse' if args.dataset == 'cifar10' else 'bce'}",
                f"--samples={args.samples}",
                f"--seed={args.seed}",
                f"--threads={args.threads or 0}",
                f"--out={out}",
            ],
            check=True,
        )
    with open(out + ".json") as f:
        result = json.load(f)
    # The samples in the dataset's own pixel scale, and the samplers named
    # as in keras-vae's runs.
    for old, new in (("normal", "prior"), ("gmm", "mixture")):
        samples = np.load(f"{out}_{old}.npz")["samples"].astype("float32")
        save_samples(args.dataset, "pythae", new, samples * scale)
        os.remove(f"{out}_{old}.npz")
        result["samples_per_second"][new] = result["samples_per_second"].pop(
            old
        )
    result["likelihood"] = (
        "mse (not a likelihood)" if args.dataset == "cifar10" else "bce"
    )
    return result


def run_keras_vae(args, x_train, x_test):
    keras.utils.set_random_seed(args.seed)
    vae = RECIPES[(args.dataset, args.run)]()
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    budget = TimeBudget(
        args.minutes * 60,
        eval_every=float("inf"),
        evaluate=dict,
        lr=1e-3,
        min_lr=1e-5,
    )
    history = vae.fit(
        x_train,
        epochs=10**6,
        batch_size=100,
        callbacks=[budget],
        verbose=0,
    )
    result = {
        "framework": "keras-vae",
        "training_minutes": budget.trained / 60,
        "epochs": len(history.history["loss"]),
        "test_elbo_nats": float(
            vae.evaluate(x_test, batch_size=500, verbose=0, return_dict=True)[
                "loss"
            ]
        ),
        "parameters": vae.count_params(),
        "samples_per_second": {},
        "likelihood": type(vae.likelihood).__name__,
    }
    mixture = keras_vae.samplers.GaussianMixtureSampler(10, seed=args.seed)
    mixture.fit(vae, x_train)
    # The model with its sampler, to draw from it again without training
    # (runs/ is not committed).
    vae.set_sampler(mixture)
    os.makedirs(runs_dir(args.dataset), exist_ok=True)
    vae.save(os.path.join(runs_dir(args.dataset), f"{args.run}.keras"))
    draws = [
        ("prior", keras_vae.samplers.PriorSampler(), 1.0),
        ("mixture", mixture, 1.0),
    ]
    for name, temperature in COLD.get((args.dataset, args.run), {}).items():
        draws.append((name, mixture, temperature))
    for name, sampler, temperature in draws:
        kwargs = dict(seed=args.seed, sampler=sampler, temperature=temperature)
        vae.sample(500, **kwargs)  # traced once
        start = time.perf_counter()
        samples = vae.sample(args.samples, **kwargs)
        seconds = time.perf_counter() - start
        result["samples_per_second"][name] = args.samples / seconds
        save_samples(args.dataset, args.run, name, samples)
    return result


def save_samples(dataset, run, sampler, samples):
    os.makedirs(runs_dir(dataset), exist_ok=True)
    path = os.path.join(runs_dir(dataset), f"{run}_{sampler}.npz")
    np.savez_compressed(path, samples=np.asarray(samples, "float32"))


def train(args):
    if args.threads:
        # Before anything starts TensorFlow's runtime (loading the images
        # does).
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    (x_train, _), (x_test, _) = load(args.dataset)
    if args.run == "pythae":
        result = run_pythae(args, x_train, x_test)
    else:
        result = run_keras_vae(args, x_train, x_test)
    result.update(
        run=args.run,
        dataset=args.dataset,
        minutes_budget=args.minutes,
        seed=args.seed,
        machine=machine(),
        load_average=os.getloadavg()[0],
        command=command_flags(args),
    )
    os.makedirs(REPORTS, exist_ok=True)
    path = os.path.join(REPORTS, f"{args.dataset}_{args.run}.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))


def report(args):
    import matplotlib.image

    from keras_vae.plotting import image_grid

    (_, _), (x_test, _) = load(args.dataset)
    scale = 255.0 if args.dataset == "cifar10" else 1.0
    os.makedirs(IMAGES, exist_ok=True)
    lines = [
        f"# Samples side by side with pythae: {args.dataset}",
        "",
        "`python -m benchmarks.quality.side_by_side` (its docstring has the "
        "commands): each model trained for the same wall-clock training "
        "minutes on this CPU, then 10,000 samples drawn with the prior and "
        "with a 10-component Gaussian mixture fitted to the encoded "
        "training set, measured against the 10,000 test images by "
        f"`sample_quality(..., feature_model={args.dataset!r})` "
        "([calibration](sample_quality.md)). Lower Fréchet distance is "
        "better; higher precision and recall. pythae trains with its own "
        "`BaseTrainer` (Adam at 1e-3, batch 100); keras-vae with Adam from "
        "1e-3 in a cosine decay to 1e-5 over the minutes, batch 100. The "
        "test -ELBO is one draw of z per image; for CIFAR-10, pythae's is "
        "its MSE loss, not a likelihood of the pixels.",
        "",
        "| model | sampler | Fréchet distance | precision | recall | "
        "test -ELBO (nats) | training minutes (epochs) | samples/s | "
        "parameters |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    pictures = []
    for run in RUNS:
        path = os.path.join(REPORTS, f"{args.dataset}_{run}.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            result = json.load(f)
        for sampler in result["samples_per_second"]:
            samples = np.load(
                os.path.join(runs_dir(args.dataset), f"{run}_{sampler}.npz")
            )["samples"]
            quality = keras_vae.evaluation.sample_quality(
                samples, x_test, args.dataset
            )
            # 64 drawn at random: pythae's mixture sampler returns its
            # draws grouped by component.
            shown = np.random.default_rng(0).choice(len(samples), 64, False)
            name = f"{args.dataset}_{run}_{sampler}.png"
            matplotlib.image.imsave(
                os.path.join(IMAGES, name),
                image_grid(samples[np.sort(shown)] / scale, 8),
                cmap="gray",
            )
            pictures.append(
                f"![{run}, {sampler}](../images/side_by_side/{name})"
            )
            lines.append(
                f"| {run} | {sampler} | {quality['frechet_distance']:.2f} | "
                f"{quality['precision']:.3f} | {quality['recall']:.3f} | "
                f"{result['test_elbo_nats']:.1f} | "
                f"{result['training_minutes']:.1f} ({result['epochs']}) | "
                f"{result['samples_per_second'][sampler]:,.0f} | "
                f"{result['parameters']:,} |"
            )
    lines += ["", "64 of the 10,000 samples of each, chosen at random:", ""]
    lines += pictures
    lines += ["", f"Machine: {machine()}.", ""]
    save_report(
        "\n".join(lines),
        os.path.join(
            ROOT, "docs", "benchmarks", f"side_by_side_{args.dataset}.md"
        ),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset", choices=["mnist", "cifar10"], required=True
    )
    parser.add_argument("--run", choices=RUNS)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pythae-python", default="python")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="CPU threads of each run (0: all); to train runs side by "
        "side at the same time, each on its share of the cores.",
    )
    parser.add_argument("--report", action="store_true")
    args = parser.parse_args()
    if args.report:
        report(args)
    elif args.run:
        train(args)
    else:
        parser.error("Pass --run RUN or --report.")


if __name__ == "__main__":
    main()
