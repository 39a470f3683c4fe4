"""`sample_quality`: precision and recall on sets whose answer is known, the
k-NN manifolds against a direct computation, the shipped feature networks
calibrated on real MNIST, and the errors."""

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.evaluation import sample_quality
from keras_vae.evaluation.sample_quality import _coverage


def flatten_model(shape):
    inputs = keras.Input(shape)
    return keras.Model(inputs, keras.layers.Flatten()(inputs))


def test_samples_from_one_of_two_modes_have_full_precision_half_recall():
    rng = np.random.default_rng(0)
    mode_a = rng.normal(size=(300, 4))
    mode_b = rng.normal(size=(100, 4)) + 50.0
    reference = np.concatenate([mode_a, mode_b])
    quality = sample_quality(mode_a, reference, flatten_model((4,)))
    # Every sample is a reference point; the far mode is never covered.
    assert quality["precision"] == 1.0
    assert quality["recall"] == 300 / 400
    assert quality["frechet_distance"] > 100.0


def test_the_same_set_has_distance_zero_and_full_precision_and_recall():
    x = np.random.default_rng(1).normal(size=(200, 3, 2))
    quality = sample_quality(x, x, flatten_model((3, 2)))
    assert quality == pytest.approx(
        {"frechet_distance": 0.0, "precision": 1.0, "recall": 1.0},
        abs=1e-6,
    )


def test_samples_off_the_data_have_low_precision():
    rng = np.random.default_rng(2)
    reference = rng.normal(size=(500, 2))
    samples = rng.normal(size=(500, 2)) * 0.1 + 6.0
    quality = sample_quality(samples, reference, flatten_model((2,)))
    assert quality["precision"] == 0.0
    assert quality["recall"] == 0.0


@pytest.mark.parametrize("k", [1, 3, 5])
def test_the_manifold_coverage_matches_a_direct_computation(k):
    rng = np.random.default_rng(k)
    points = rng.normal(size=(70, 5)).astype("float32")
    support = rng.normal(size=(90, 5)).astype("float32") * 1.3
    distances = np.linalg.norm(support[:, None] - support[None], axis=-1)
    radii = np.sort(distances, axis=1)[:, k]  # [:, 0] is the point itself
    to_support = np.linalg.norm(points[:, None] - support[None], axis=-1)
    expected = np.mean(np.any(to_support <= radii[None] + 1e-5, axis=1))
    # A chunk smaller than both sets checks the chunked loops.
    assert _coverage(points, support, k, chunk=16) == pytest.approx(expected)


def grey_blur(images, sigma):
    import scipy.ndimage

    return scipy.ndimage.gaussian_filter(images, (0, sigma, sigma, 0))


@pytest.fixture(scope="module")
def mnist_sample():
    (x_train, _), (x_test, _) = keras_vae.datasets.load_mnist(embedded=True)
    return x_train[:2000], x_test[:2000]


def test_the_mnist_features_rank_corruptions_in_order(mnist_sample):
    # The calibration of docs/benchmarks/sample_quality.md, on the embedded
    # sample: the distance to the training images grows with the strength
    # of each corruption of the test images.
    x_train, x_test = mnist_sample
    rng = np.random.default_rng(0)
    model = keras_vae.evaluation.feature_model("mnist")

    def noisy(sigma):
        return np.clip(x_test + rng.normal(0, sigma, x_test.shape), 0, 1)

    def shuffled(fraction):
        flat = x_test.reshape(len(x_test), -1).copy()
        chosen = rng.choice(flat.shape[1], int(fraction * flat.shape[1]), False)
        flat[:, chosen] = rng.permuted(flat[:, chosen], axis=1)
        return flat.reshape(x_test.shape)

    def quality(images):
        return sample_quality(images.astype("float32"), x_train, model)

    clean = quality(x_test)
    families = {
        "blur": [grey_blur(x_test, s) for s in (1.0, 2.0)],
        "noise": [noisy(s) for s in (0.1, 0.3)],
        "shuffle": [shuffled(f) for f in (0.2, 1.0)],
    }
    for name, sets in families.items():
        distances = [clean["frechet_distance"]]
        distances += [quality(s)["frechet_distance"] for s in sets]
        assert distances == sorted(distances), (name, distances)
        assert distances[-1] > 10 * distances[0], (name, distances)
    assert clean["precision"] > 0.6 and clean["recall"] > 0.6
    # Shuffled pixels cover none of the data. (Their precision stays high:
    # images the classifier cannot read land near the origin of its
    # features, inside the balls of faint real digits; the docstring says
    # so.)
    assert quality(families["shuffle"][-1])["recall"] < 0.05


def test_pixel_values_on_the_wrong_scale_are_refused(mnist_sample):
    x_train, x_test = mnist_sample
    with pytest.raises(ValueError, match=r"\[0, 1\].*reaches 255"):
        sample_quality(x_test * 255.0, x_train, "mnist")


def test_grey_images_without_a_channel_axis_are_taken(mnist_sample):
    x_train, x_test = mnist_sample
    with_axis = sample_quality(x_test[:500], x_train[:500], "mnist")
    without = sample_quality(x_test[:500, ..., 0], x_train[:500], "mnist")
    assert without == pytest.approx(with_axis)


def test_bad_arguments_are_refused():
    x = np.zeros((10, 2))
    with pytest.raises(
        ValueError, match="`feature_model`.*Received: 'imagenet'"
    ):
        sample_quality(x, x, "imagenet")
    with pytest.raises(
        ValueError, match="`feature_model`.*Received: feature_model=3"
    ):
        sample_quality(x, x, 3)
    with pytest.raises(ValueError, match="Received: k=0"):
        sample_quality(x, x, flatten_model((2,)), k=0)
    with pytest.raises(ValueError, match=r"\(n,\) \+ \(2,\).*\(10, 3\)"):
        sample_quality(np.zeros((10, 3)), x, flatten_model((2,)))
    with pytest.raises(ValueError, match="more than k=3 images.*3 images"):
        sample_quality(x[:3], x, flatten_model((2,)))
