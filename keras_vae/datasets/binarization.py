import numpy as np
import tensorflow as tf


def binarize(x, seed=None):
    """Static binarization: one Bernoulli draw per pixel, `P(1) = x`.

    Args:
        x: Float data in [0, 1].
        seed: Optional integer seed of the draw.

    Returns:
        A float32 array of zeros and ones, of the shape of `x`.
    """
    x = _check_unit_interval(x)
    return (np.random.default_rng(seed).random(x.shape) < x).astype("float32")


def dynamic_binarization(x, batch_size=128, shuffle=True, seed=None):
    """A `tf.data.Dataset` that binarizes `x` afresh on every epoch.

    Each pass over the dataset draws new Bernoulli pixels with `P(1) = x`
    (the "dynamically binarized MNIST" of the VAE literature), so the model
    never sees the same binary image twice. Pass it to `fit` directly.

    Args:
        x: Float data in [0, 1], of shape `(n, ...)`.
        batch_size: The batch size of the dataset.
        shuffle: Whether to reshuffle the examples on every epoch.
        seed: Optional integer seed of the shuffle and of the draws.

    Returns:
        A `tf.data.Dataset` of float32 batches of zeros and ones.

    Example:

    ```python
    vae.fit(dynamic_binarization(x_train, 128, seed=0), epochs=10)
    ```
    """
    x = _check_unit_interval(x)
    dataset = tf.data.Dataset.from_tensor_slices(x)
    if shuffle:
        dataset = dataset.shuffle(
            len(x), seed=seed, reshuffle_each_iteration=True
        )
    dataset = dataset.batch(batch_size)
    generator = (
        tf.random.Generator.from_seed(seed)
        if seed is not None
        else (tf.random.Generator.from_non_deterministic_state())
    )

    def draw(batch):
        return tf.cast(generator.uniform(tf.shape(batch)) < batch, tf.float32)

    return dataset.map(draw).prefetch(tf.data.AUTOTUNE)


def _check_unit_interval(x):
    x = np.asarray(x, dtype="float32")
    if x.size == 0 or not np.all((x >= 0) & (x <= 1)):
        raise ValueError(
            "Binarization needs a non-empty array of probabilities in "
            f"[0, 1]. Received: x.shape={x.shape}, "
            f"range=[{x.min() if x.size else 'n/a'}, "
            f"{x.max() if x.size else 'n/a'}]"
        )
    return x
