"""Calibrates `keras_vae.evaluation.sample_quality`: the Fréchet distance,
precision and recall of real test images against the training images, then
of the test images increasingly blurred, noisy and pixel-shuffled, in the
features of the shipped MNIST and CIFAR-10 networks. A measure worth using
grows with every corruption, in that order.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.quality.calibration

writes docs/benchmarks/sample_quality.md (with the feature classifiers'
test accuracy, from docs/benchmarks/quality/NAME_classifier.json).
"""

import argparse
import json
import os
import time

import numpy as np
import scipy.ndimage

from benchmarks.machine import ROOT
from benchmarks.machine import command_flags
from benchmarks.machine import machine
from benchmarks.machine import save_report
from benchmarks.quality.datasets import load
from keras_vae.evaluation import feature_model
from keras_vae.evaluation import sample_quality
from keras_vae.evaluation.feature_models import FEATURE_MODELS

REPORT = os.path.join(ROOT, "docs", "benchmarks", "sample_quality.md")
REPORTS = os.path.join(ROOT, "docs", "benchmarks", "quality")
#: The corruptions, each family from mild to strong: Gaussian blur (its
#: standard deviation in pixels), additive Gaussian noise (its standard
#: deviation as a fraction of the pixel range, clipped back into it), and
#: pixel shuffling (the fraction of each image's pixel positions permuted
#: among themselves; the colours of a pixel move together).
CORRUPTIONS = [("none", 0.0)]
CORRUPTIONS += [("blur", s) for s in (0.5, 1.0, 2.0)]
CORRUPTIONS += [("noise", s) for s in (0.05, 0.1, 0.2)]
CORRUPTIONS += [("shuffle", f) for f in (0.1, 0.5, 1.0)]


def corrupt(images, kind, strength, max_value, rng):
    x = images.astype("float32")
    if kind == "blur":
        x = scipy.ndimage.gaussian_filter(x, (0, strength, strength, 0))
    elif kind == "noise":
        x = x + rng.normal(0.0, strength * max_value, x.shape)
        x = np.clip(x, 0.0, max_value)
    elif kind == "shuffle":
        n, h, w, c = x.shape
        flat = x.reshape(n, h * w, c)
        count = int(round(strength * h * w))
        for image in flat:
            chosen = rng.choice(h * w, count, replace=False)
            image[chosen] = image[rng.permutation(chosen)]
        x = flat.reshape(n, h, w, c)
    return x


def calibrate(name, size, seed=0):
    rng = np.random.default_rng(seed)
    (x_train, _), (x_test, _) = load(name)
    reference = x_train[rng.choice(len(x_train), size, replace=False)]
    test = x_test[:size]
    max_value = FEATURE_MODELS[name]["max_value"]
    model = feature_model(name)
    rows = []
    for kind, strength in CORRUPTIONS:
        start = time.perf_counter()
        images = corrupt(test, kind, strength, max_value, rng)
        quality = sample_quality(images, reference, model)
        rows.append(
            {
                "corruption": kind,
                "strength": strength,
                **quality,
                "seconds": time.perf_counter() - start,
            }
        )
        print(name, rows[-1], flush=True)
    return rows


def grows_in_order(rows):
    """Whether the distance grows with the strength of each corruption
    family, from the clean row."""
    clean = rows[0]["frechet_distance"]
    families = {}
    for row in rows[1:]:
        families.setdefault(row["corruption"], [clean]).append(
            row["frechet_distance"]
        )
    return all(d == sorted(d) for d in families.values())


def report(results, args):
    lines = [
        "# Sample quality: the feature networks and their calibration",
        "",
        "`keras_vae.evaluation.sample_quality(samples, reference, "
        "feature_model)` measures samples in the features of a small "
        'classifier shipped with the package (`feature_model="mnist"` or '
        '`"cifar10"`; `python -m benchmarks.quality.feature_classifiers '
        "--dataset NAME` trains them). These Fréchet distances are not FID "
        "values (FID uses InceptionV3's features): compare them with each "
        "other, at the same set sizes.",
        "",
        "| network | test accuracy | parameters | weights | epochs | "
        "training time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in results:
        path = os.path.join(REPORTS, f"{name}_classifier.json")
        with open(path) as f:
            c = json.load(f)
        lines.append(
            f"| {name} | {c['test_accuracy']:.2%} | {c['parameters']:,} | "
            f"{c['weights_bytes'] / 1e6:.1f} MB | {c['epochs']} | "
            f"{c['training_seconds'] / 60:.0f} min |"
        )
    lines += [
        "",
        "## Calibration",
        "",
        f"{args.size:,} test images (corrupted or not) against {args.size:,} "
        "training images drawn at random; precision and recall with k = 3. "
        "Blur: a Gaussian filter of that standard deviation in pixels; "
        "noise: Gaussian noise of that standard deviation as a fraction of "
        "the pixel range, clipped; shuffle: that fraction of each image's "
        "pixel positions permuted.",
    ]
    for name, rows in results.items():
        within = grows_in_order(rows)
        lines += [
            "",
            f"### {name}",
            "",
            "| test images | Fréchet distance | precision | recall |",
            "| --- | --- | --- | --- |",
        ]
        for r in rows:
            label = (
                "as they are"
                if r["corruption"] == "none"
                else f"{r['corruption']} {r['strength']:g}"
            )
            lines.append(
                f"| {label} | {r['frechet_distance']:.2f} | "
                f"{r['precision']:.3f} | {r['recall']:.3f} |"
            )
        lines += [
            "",
            "The distance grows with the strength of every corruption: "
            f"**{'yes' if within else 'NO'}**.",
        ]
    lines += [
        "",
        f"Machine: {machine()}. Command: `python -m "
        f"benchmarks.quality.calibration {command_flags(args)}`.",
        "",
    ]
    save_report("\n".join(lines), REPORT)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=sorted(FEATURE_MODELS))
    parser.add_argument("--size", type=int, default=10000)
    args = parser.parse_args()
    results = {name: calibrate(name, args.size) for name in args.datasets}
    report(results, args)


if __name__ == "__main__":
    main()
