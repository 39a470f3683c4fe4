import keras
import numpy as np

from keras_vae.evaluation import feature_models
from keras_vae.evaluation.frechet_distance import frechet_distance
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.squared_distances import squared_distances


def sample_quality(samples, reference, feature_model, k=3, batch_size=256):
    """Measures how much generated samples look like real data.

    Both sets of images go through `feature_model`, and three numbers
    compare their features:

    - `"frechet_distance"`: the Fréchet distance between the Gaussians
      fitted to the two feature sets (`frechet_distance`; FID's formula),
      lower is better: it grows both when samples are unlike the data and
      when they cover it only in part;
    - `"precision"`: the fraction of samples that fall inside the manifold
      of the reference, a ball around each reference example reaching its
      `k`-th nearest reference neighbour: how many samples look real;
    - `"recall"`: the fraction of reference examples inside the samples'
      manifold, built the same way: how much of the data the samples cover.

    Precision and recall are those of Kynkäänniemi et al. (2019), in `[0,
    1]`, higher is better; their values depend on `k` and on the set sizes,
    so compare sets of equal sizes (thousands of each). Precision alone
    can mislead: one large ball of an unusual reference example can hold
    many samples, and in the features of the small shipped classifiers
    images they cannot read at all (pixel noise) land among the faint real
    digits, with a precision near 1 (docs/benchmarks/sample_quality.md);
    their distance and recall show them.

    Args:
        samples: Generated images, an array `(n, ...)`, e.g.
            `vae.sample(10000)`.
        reference: Real images of the same kind, e.g. the test split.
        feature_model: `"mnist"` or `"cifar10"`, the small classifiers
            shipped with keras-vae (see `feature_model`, which says what
            pixel values each takes), or any `keras.Model` from images to
            features, such as InceptionV3 for the standard FID.
        k: The neighbour that sets each manifold ball's radius, an integer
            >= 1; 3 as in the paper.
        batch_size: Images passed through `feature_model` at once.

    Returns:
        A dict with the float values `"frechet_distance"`, `"precision"`
        and `"recall"`.

    Example:

    ```python
    (_, _), (x_test, _) = keras_vae.datasets.load_mnist()
    quality = keras_vae.evaluation.sample_quality(
        vae.sample(10000, seed=0), x_test, feature_model="mnist")
    ```

    Reference:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule
        Converge to a Local Nash Equilibrium", NeurIPS 2017; Kynkäänniemi
        et al., "Improved Precision and Recall Metric for Assessing
        Generative Models", NeurIPS 2019.
    """
    k = check_positive_int(k, "k")
    model = feature_model
    if isinstance(feature_model, str):
        model = feature_models.feature_model(feature_model)
    elif not isinstance(feature_model, keras.Model):
        raise ValueError(
            "Invalid value for argument `feature_model`: expected a "
            f"`keras.Model` or one of {sorted(feature_models.FEATURE_MODELS)}."
            f" Received: feature_model={feature_model!r}"
        )
    features = []
    for name, images in (("samples", samples), ("reference", reference)):
        images = _images_for(model, feature_model, images, name)
        if len(images) <= k:
            raise ValueError(
                f"`{name}` needs more than k={k} images for the k-nearest-"
                f"neighbour manifolds. Received: {len(images)} images"
            )
        features.append(
            np.asarray(model.predict(images, batch_size, verbose=0))
        )
    fake, real = (f.reshape(len(f), -1).astype("float32") for f in features)
    return {
        "frechet_distance": frechet_distance(fake, real),
        "precision": _coverage(fake, real, k),
        "recall": _coverage(real, fake, k),
    }


def _images_for(model, feature_model, images, name):
    """`images` as `model` takes them: a missing channel axis of grey
    images added, and for a shipped network a check of the pixel scale
    (a `[0, 1]` set for a 0-255 network, or the reverse, would measure the
    scale, not the samples)."""
    images = np.asarray(images)
    expected = tuple(model.input_shape[1:])
    if images.shape[1:] + (1,) == expected:
        images = images[..., None]
    if images.ndim < 2 or images.shape[1:] != expected:
        raise ValueError(
            f"`{name}` must be images of the shape the feature model "
            f"takes, (n,) + {expected}. Received: {name} of shape "
            f"{images.shape}"
        )
    if isinstance(feature_model, str) and len(images):
        max_value = feature_models.FEATURE_MODELS[feature_model]["max_value"]
        largest = float(np.max(images))
        if (max_value == 1 and largest > 1.5) or (
            max_value == 255 and largest <= 1.0
        ):
            raise ValueError(
                f"The {feature_model!r} feature model takes pixel values in "
                f"[0, {max_value:g}], but `{name}` reaches {largest:g}: "
                f"rescale it to [0, {max_value:g}] (255 is the largest "
                "8-bit pixel value). Received: the largest value "
                f"{largest:g}"
            )
    return images


def _coverage(points, support, k, chunk=1024):
    """The fraction of `points` within the k-NN ball of some point of
    `support`: each support point's ball reaches its `k`-th nearest other
    support point."""
    radii = np.empty(len(support), "float32")
    for start in range(0, len(support), chunk):
        d = squared_distances(support[start : start + chunk], support)
        # Index k, not k - 1: the nearest "neighbour" is the point itself.
        radii[start : start + chunk] = np.partition(d, k, axis=1)[:, k]
    inside = np.empty(len(points), bool)
    for start in range(0, len(points), chunk):
        d = squared_distances(points[start : start + chunk], support)
        inside[start : start + chunk] = np.any(d <= radii[None, :], axis=1)
    return float(np.mean(inside))
