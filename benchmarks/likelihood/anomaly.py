"""What anomaly scores are worth: AUROC on a held-out MNIST digit and on
malignant tumours.

Trains the MLP VAE 784-400-20 on the MNIST training images without one
digit and scores all 10,000 test images with
`keras_vae.evaluation.anomaly_scores`: the AUROC of the held-out digit
against the other digits, for the importance-sampled score (K=100) and for
the one-sample negative ELBO (K=1), with the share of each flagged at the
`anomaly_threshold` of a validation set. Then the rank stability of the
scores against K=1000, and a table case: a Gaussian MLP VAE trained on the
benign rows of scikit-learn's breast cancer table, scoring held-out benign
rows against malignant ones. Prints the tables and writes
docs/benchmarks/anomaly.md.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.likelihood.anomaly

Needs scikit-learn for the breast cancer table (it ships with the package;
nothing is downloaded).
"""

import argparse
import datetime
import platform
import statistics
import time

import keras
import numpy as np

import keras_vae
from benchmarks.machine import command_flags
from benchmarks.machine import machine
from benchmarks.machine import save_report
from keras_vae.evaluation import anomaly_scores
from keras_vae.evaluation import anomaly_threshold
from keras_vae.evaluation import auroc


def main():
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.likelihood.anomaly",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--digits", type=int, nargs="*", default=[0, 1, 9])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--validation", type=int, default=2000)
    parser.add_argument("--quantile", type=float, default=0.99)
    parser.add_argument("--num-samples", type=int, default=100)
    parser.add_argument("--reference-samples", type=int, default=1000)
    parser.add_argument("--stability-n", type=int, default=1000)
    parser.add_argument("--table-epochs", type=int, default=15)
    parser.add_argument("--table-repeats", type=int, default=20)
    parser.add_argument("--output", default="docs/benchmarks/anomaly.md")
    args = parser.parse_args()

    start = time.perf_counter()
    (x_train, y_train), (x_test, y_test) = keras_vae.datasets.load_mnist()
    digits = []
    stability = []
    for digit in args.digits:
        runs = []
        for seed in args.seeds:
            vae, run = mnist_case(
                digit, seed, x_train, y_train, x_test, y_test, args
            )
            print(f"digit {digit} seed {seed}: {run}", flush=True)
            runs.append(run)
            if seed == args.seeds[0]:
                row = rank_stability(vae, x_test[: args.stability_n], args)
                print(f"digit {digit} rank stability: {row}", flush=True)
                stability.append(dict(row, digit=digit))
        digits.append((digit, runs))
    table = [table_case(seed, args) for seed in args.seeds]
    for run in table:
        print(f"breast cancer: {run}", flush=True)
    minutes = (time.perf_counter() - start) / 60
    write_report(args, digits, stability, table, minutes)


def mnist_case(digit, seed, x_train, y_train, x_test, y_test, args):
    """Trains without `digit`; returns the model and its AUROCs and
    flagged shares."""
    keras.utils.set_random_seed(seed)
    normal = np.random.default_rng(seed).permutation(
        np.flatnonzero(y_train != digit)
    )
    x_val = x_train[normal[: args.validation]]
    x_fit = x_train[normal[args.validation :]]
    vae = keras_vae.build_mlp_vae(seed=seed)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    began = time.perf_counter()
    vae.fit(x_fit, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    train_seconds = time.perf_counter() - began
    unusual = (y_test == digit).astype(int)
    began = time.perf_counter()
    scores = anomaly_scores(
        vae, x_test, num_samples=args.num_samples, seed=0, verbose=0
    )
    score_seconds = time.perf_counter() - began
    elbo_scores = anomaly_scores(vae, x_test, 1, seed=0, verbose=0)
    threshold = anomaly_threshold(
        anomaly_scores(vae, x_val, args.num_samples, seed=1, verbose=0),
        args.quantile,
    )
    flagged = scores > threshold
    return vae, {
        "auroc": auroc(unusual, scores),
        "auroc_elbo": auroc(unusual, elbo_scores),
        "flagged_unusual": float(flagged[unusual == 1].mean()),
        "flagged_normal": float(flagged[unusual == 0].mean()),
        "median_unusual": float(np.median(scores[unusual == 1])),
        "median_normal": float(np.median(scores[unusual == 0])),
        "train_seconds": round(train_seconds, 1),
        "score_seconds": round(score_seconds, 1),
    }


def rank_stability(vae, x, args):
    """For each K: Spearman's rho of its scores with the K=reference
    scores and with its own scores drawn again, the noise of one score
    (the standard deviation of the difference of two draws over sqrt 2),
    its mean gap above the reference, and the seconds per 1,000 examples."""
    began = time.perf_counter()
    reference = anomaly_scores(
        vae, x, args.reference_samples, seed=100, verbose=0
    )
    seconds = {args.reference_samples: time.perf_counter() - began}
    rows = {}
    for k in sorted({1, 10, args.num_samples}):
        began = time.perf_counter()
        scores = anomaly_scores(vae, x, k, seed=0, verbose=0)
        seconds[k] = time.perf_counter() - began
        again = anomaly_scores(vae, x, k, seed=1, verbose=0)
        rows[k] = {
            "rho_reference": spearman(scores, reference),
            "rho_reseeded": spearman(scores, again),
            "noise": float(np.std(scores - again) / np.sqrt(2)),
            "gap": float(np.mean(scores - reference)),
        }
    for k, value in seconds.items():
        rows.setdefault(k, {})["seconds_per_1000"] = 1000 * value / len(x)
    return rows


def spearman(a, b):
    """Spearman's rank correlation (the scores are continuous: no ties)."""
    ranks_a = np.argsort(np.argsort(a))
    ranks_b = np.argsort(np.argsort(b))
    return float(np.corrcoef(ranks_a, ranks_b)[0, 1])


def table_case(seed, args):
    """A Gaussian MLP VAE on benign breast cancer rows; malignant rows are
    the unusual ones. Returns AUROCs of the VAE and of two baselines."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    x, target = data.data, data.target  # target 1 is benign, 0 malignant
    rng = np.random.default_rng(seed)
    benign = rng.permutation(np.flatnonzero(target == 1))
    malignant = np.flatnonzero(target == 0)
    train = benign[: int(0.6 * len(benign))]
    validation = benign[len(train) : int(0.8 * len(benign))]
    test = benign[len(validation) + len(train) :]
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)

    def standardize(rows):
        return ((x[rows] - mean) / std).astype("float32")

    keras.utils.set_random_seed(seed)
    vae = keras_vae.build_mlp_vae(
        input_shape=(30,),
        latent_dim=4,
        hidden_units=(64,),
        likelihood="gaussian",
        seed=seed,
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    # The rows repeated: fewer, longer epochs for the same steps.
    vae.fit(
        np.tile(standardize(train), (args.table_repeats, 1)),
        epochs=args.table_epochs,
        batch_size=32,
        verbose=0,
    )
    x_eval = np.concatenate([standardize(test), standardize(malignant)])
    unusual = np.r_[np.zeros(len(test), int), np.ones(len(malignant), int)]
    scores = anomaly_scores(vae, x_eval, args.num_samples, seed=0, verbose=0)
    threshold = anomaly_threshold(
        anomaly_scores(
            vae, standardize(validation), args.num_samples, seed=1, verbose=0
        ),
        0.95,
    )
    flagged = scores > threshold
    centred = x_eval.astype("float64")  # Train mean 0, std 1 already.
    covariance = np.cov(standardize(train).astype("float64"), rowvar=False)
    mahalanobis = np.sum(centred @ np.linalg.pinv(covariance) * centred, 1)
    return {
        "auroc": auroc(unusual, scores),
        "auroc_elbo": auroc(
            unusual, anomaly_scores(vae, x_eval, 1, seed=0, verbose=0)
        ),
        "auroc_squared_z": auroc(unusual, np.sum(centred**2, axis=1)),
        "auroc_mahalanobis": auroc(unusual, mahalanobis),
        "flagged_unusual": float(flagged[unusual == 1].mean()),
        "flagged_normal": float(flagged[unusual == 0].mean()),
        "rows": (len(train), len(validation), len(test), len(malignant)),
    }


def _median(runs, key):
    return statistics.median(run[key] for run in runs)


def _values(runs, key):
    return ", ".join(f"{run[key]:.3f}" for run in runs)


def write_report(args, digits, stability, table, minutes):
    k, ref = args.num_samples, args.reference_samples
    n_seeds = len(args.seeds)
    lines = [
        "# Anomaly scores: what they are worth",
        "",
        f"Measured {datetime.date.today()} on {machine()}, Python "
        f"{platform.python_version()}, TensorFlow CPU wheels, Keras "
        f"{keras.__version__}; the whole run took {minutes:.1f} minutes.",
        "",
        "Command:",
        "",
        "```bash",
        "KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python "
        "-m benchmarks.likelihood.anomaly " + command_flags(args),
        "```",
        "",
        "The score is `keras_vae.evaluation.anomaly_scores`: the "
        "importance-sampled negative log-likelihood in nats, K = "
        f'{k}; "K = 1" is one draw of the negative ELBO. AUROC is the '
        "probability that an unusual example scores above a normal one "
        "(0.5 is chance, below 0.5 the score ranks them backwards). "
        f"Medians over {n_seeds} seeds (model initialization, shuffling, "
        "validation split), each seed's value in brackets.",
        "",
        "## A digit MNIST never showed the model",
        "",
        f"MLP VAE 784-400-20 (ReLU), Bernoulli decoder on the grey images "
        f"in [0, 1] (as `keras-vae train --dataset mnist`), Adam 1e-3, "
        f"batch {args.batch_size}, {args.epochs} epochs on the MNIST "
        f"training images without the held-out digit, less "
        f"{args.validation} of them kept for validation. Scored: all 10,000 "
        "test images; unusual: the held-out digit's (about 1,000). "
        f"Flagged: score above `anomaly_threshold(validation_scores, "
        f"{args.quantile})`.",
        "",
        f"| held-out digit | AUROC, K = {k} | AUROC, K = 1 | flagged: "
        "held-out digit | flagged: other digits | median score: held-out "
        "/ others |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for digit, runs in digits:
        lines.append(
            f"| {digit} | {_median(runs, 'auroc'):.3f} "
            f"({_values(runs, 'auroc')}) | "
            f"{_median(runs, 'auroc_elbo'):.3f} "
            f"({_values(runs, 'auroc_elbo')}) | "
            f"{_median(runs, 'flagged_unusual'):.1%} | "
            f"{_median(runs, 'flagged_normal'):.1%} | "
            f"{_median(runs, 'median_unusual'):.1f} / "
            f"{_median(runs, 'median_normal'):.1f} |"
        )
    train_seconds = [r["train_seconds"] for _, runs in digits for r in runs]
    score_seconds = [r["score_seconds"] for _, runs in digits for r in runs]
    lines += [
        "",
        f"Training took {statistics.median(train_seconds):.0f} s per model "
        f"(median), scoring the 10,000 test images at K = {k} "
        f"{statistics.median(score_seconds):.0f} s.",
        "",
        f"## How many samples: rank stability against K = {ref}",
        "",
        f"The first {args.stability_n} test images, scored by the seed-"
        f"{args.seeds[0]} model of each held-out digit. rho: Spearman's rank "
        f"correlation with the K = {ref} scores; reseeded: with the same K "
        "drawn again (another seed); noise: the standard deviation of one "
        "score over draws, in nats; gap: the mean score minus the "
        f"K = {ref} score, in nats (the estimate is an upper bound on the "
        "NLL in expectation, tightening with K).",
        "",
        f"| held-out digit | K | rho with K = {ref} | rho, reseeded | "
        "noise (nats) | gap (nats) | seconds per 1,000 images |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in stability:
        for samples in sorted(key for key in row if key != "digit"):
            values = row[samples]
            if samples == ref:
                lines.append(
                    f"| {row['digit']} | {samples} | 1 | | | 0 | "
                    f"{values['seconds_per_1000']:.2f} |"
                )
                continue
            lines.append(
                f"| {row['digit']} | {samples} | "
                f"{values['rho_reference']:.4f} | "
                f"{values['rho_reseeded']:.4f} | "
                f"{values['noise']:.2f} | "
                f"{values['gap']:.2f} | "
                f"{values['seconds_per_1000']:.2f} |"
            )
    rows = table[0]["rows"]
    lines += [
        "",
        "## A table: benign and malignant tumours",
        "",
        "scikit-learn's breast cancer table (569 rows, 30 features). "
        f"Benign rows split {rows[0]} train / {rows[1]} validation / "
        f"{rows[2]} test (a new split each seed); the {rows[3]} malignant "
        "rows are the unusual ones. Features standardized with the mean and "
        "standard deviation of the training rows (numpy). MLP VAE 30-64-4, "
        "Gaussian decoder with a learned per-feature scale, Adam 1e-3, "
        f"batch 32, {args.table_epochs} epochs over the training rows "
        f"repeated {args.table_repeats} times. Flagged: score above "
        "`anomaly_threshold(validation_scores, 0.95)` (a few dozen "
        "validation rows: a rough quantile). Two baselines need no model: "
        "the squared distance of the standardized row from the training "
        "mean, and the Mahalanobis distance under the training rows' "
        "covariance (a Gaussian density).",
        "",
        "| score | AUROC |",
        "| --- | --- |",
        f"| VAE, K = {k} | {_median(table, 'auroc'):.3f} "
        f"({_values(table, 'auroc')}) |",
        f"| VAE, K = 1 | {_median(table, 'auroc_elbo'):.3f} "
        f"({_values(table, 'auroc_elbo')}) |",
        f"| squared z-score distance | {_median(table, 'auroc_squared_z'):.3f}"
        f" ({_values(table, 'auroc_squared_z')}) |",
        f"| Mahalanobis distance | {_median(table, 'auroc_mahalanobis'):.3f}"
        f" ({_values(table, 'auroc_mahalanobis')}) |",
        "",
        f"At the threshold, the VAE (K = {k}) flags "
        f"{_median(table, 'flagged_unusual'):.0%} of malignant and "
        f"{_median(table, 'flagged_normal'):.0%} of held-out benign rows "
        "(medians).",
    ]
    save_report("\n".join(lines) + "\n", args.output)


if __name__ == "__main__":
    main()
