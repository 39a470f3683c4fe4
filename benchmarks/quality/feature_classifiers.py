"""Trains the feature networks of `keras_vae.evaluation.sample_quality`.

One small classifier per dataset (`keras_vae.evaluation.feature_models`),
trained on the training split of the full MNIST and of the CIFAR-10 JPEG
copy in ../shared/data, evaluated on the test split; the weights are written
into the package (keras_vae/evaluation/weights/NAME.weights.h5, shipped with
it) and the run's numbers to docs/benchmarks/quality/NAME_classifier.json,
which `benchmarks.quality.calibration` reports.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.quality.feature_classifiers --dataset mnist
"""

import argparse
import json
import os
import time

import keras

from benchmarks.machine import ROOT
from benchmarks.machine import command_flags
from benchmarks.machine import machine
from benchmarks.quality.datasets import load
from keras_vae.evaluation.feature_models import feature_classifier

#: Epochs and augmentation per dataset: CIFAR-10 takes flips and shifts
#: (76.8% on its test split after 10 epochs with a network this small).
RECIPES = {
    "mnist": {"epochs": 4, "augment": False},
    "cifar10": {"epochs": 10, "augment": True},
}
REPORTS = os.path.join(ROOT, "docs", "benchmarks", "quality")


def augmentation():
    return keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=1),
            keras.layers.RandomTranslation(0.1, 0.1, seed=2),
        ]
    )


def train(args):
    name, out = args.dataset, args.out
    keras.utils.set_random_seed(0)
    recipe = RECIPES[name]
    epochs = args.epochs or recipe["epochs"]
    (x_train, y_train), (x_test, y_test) = load(name)
    classifier = feature_classifier(name)
    model = classifier
    if recipe["augment"]:
        inputs = keras.Input(classifier.input_shape[1:])
        model = keras.Model(inputs, classifier(augmentation()(inputs)))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    schedule = keras.callbacks.LearningRateScheduler(
        lambda epoch, lr: 1e-3 if epoch < 0.7 * epochs else 1e-4
    )
    start = time.perf_counter()
    model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=128,
        callbacks=[schedule],
        verbose=2,
    )
    seconds = time.perf_counter() - start
    classifier.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    _, accuracy = classifier.evaluate(x_test, y_test, verbose=0)
    out = out or os.path.join(
        ROOT, "keras_vae", "evaluation", "weights", f"{name}.weights.h5"
    )
    os.makedirs(os.path.dirname(out), exist_ok=True)
    classifier.save_weights(out + ".tmp.weights.h5")
    os.replace(out + ".tmp.weights.h5", out)
    result = {
        "dataset": name,
        "test_accuracy": float(accuracy),
        "epochs": epochs,
        "training_seconds": seconds,
        "parameters": classifier.count_params(),
        "weights_bytes": os.path.getsize(out),
        "backend": keras.backend.backend(),
        "machine": machine(),
        "command": command_flags(args),
    }
    os.makedirs(REPORTS, exist_ok=True)
    with open(os.path.join(REPORTS, f"{name}_classifier.json"), "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result, indent=1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=sorted(RECIPES), required=True)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--out", help="Where to write the weights.")
    args = parser.parse_args()
    train(args)


if __name__ == "__main__":
    main()
