"""The feature networks `sample_quality` measures samples in: small image
classifiers trained on MNIST and on CIFAR-10, whose weights ship with the
package (benchmarks/quality/feature_classifiers.py trains them)."""

import os

import keras

_WEIGHTS_DIR = os.path.join(os.path.dirname(__file__), "weights")

#: Each shipped network: the images it takes (the shape, and the largest
#: pixel value, 1 for `[0, 1]` data, 255 for 8-bit pixel values).
FEATURE_MODELS = {
    "mnist": {"input_shape": (28, 28, 1), "max_value": 1.0},
    "cifar10": {"input_shape": (32, 32, 3), "max_value": 255.0},
}


def feature_classifier(name):
    """The classifier behind `feature_model(name)`, untrained: three blocks
    of two 3x3 convolutions and a max-pooling (32, 64 and 128 filters), a
    128-unit `"features"` layer and ten logits. Its input is scaled by the
    dataset's largest pixel value inside the model."""
    spec = _spec(name)
    inputs = keras.Input(spec["input_shape"], name="images")
    h = keras.layers.Rescaling(1.0 / spec["max_value"])(inputs)
    for filters in (32, 64, 128):
        for _ in range(2):
            h = keras.layers.Conv2D(
                filters, 3, padding="same", activation="relu"
            )(h)
        h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dropout(0.3)(h)
    features = keras.layers.Dense(128, activation="relu", name="features")(h)
    h = keras.layers.Dropout(0.3)(features)
    logits = keras.layers.Dense(10, name="logits")(h)
    return keras.Model(inputs, logits, name=f"{name}_classifier")


def feature_model(name):
    """A feature network for `sample_quality`, with the shipped weights.

    `"mnist"` takes MNIST-like images `(n, 28, 28, 1)` (or `(n, 28, 28)`)
    with values in `[0, 1]`, as `keras_vae.datasets.load_mnist` gives them
    and a Bernoulli VAE samples them; `"cifar10"` takes `(n, 32, 32, 3)`
    8-bit pixel values `0-255` (uint8 or float), as `image_folder` gives
    them and a discretized-logistic VAE samples them. Each returns the 128
    activations of its classifier's last hidden layer; the test accuracy
    of the classifiers and the calibration of the distances are in
    docs/benchmarks/sample_quality.md.

    These are small networks trained here, so their Fréchet distances are
    not FID values. With internet access,
    `keras.applications.InceptionV3(include_top=False, pooling="avg")`
    on images resized to 299x299 and passed through
    `keras.applications.inception_v3.preprocess_input` gives the standard
    FID features (it downloads 90 MB of weights).

    Args:
        name: `"mnist"` or `"cifar10"`.

    Returns:
        A `keras.Model` from images to features of shape `(n, 128)`.
    """
    classifier = feature_classifier(name)
    classifier.load_weights(weights_path(name))
    classifier.trainable = False
    return keras.Model(
        classifier.inputs,
        classifier.get_layer("features").output,
        name=f"{name}_features",
    )


def weights_path(name):
    """Where the shipped weights of the `name` classifier are."""
    return os.path.join(_WEIGHTS_DIR, f"{_check(name)}.weights.h5")


def _spec(name):
    return FEATURE_MODELS[_check(name)]


def _check(name):
    if name not in FEATURE_MODELS:
        raise ValueError(
            "Invalid value for argument `feature_model`: expected a "
            f"`keras.Model` or one of {sorted(FEATURE_MODELS)}, the feature "
            f"networks shipped with keras-vae. Received: {name!r}"
        )
    return name
