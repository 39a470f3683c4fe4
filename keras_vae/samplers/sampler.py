import inspect

import keras
import numpy as np

from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.batches import in_batches


class Sampler(keras.layers.Layer):
    """The base class of the latent samplers: where `vae.sample` draws `z`.

    A trained VAE's aggregate posterior, the codes of its training data,
    is not its prior: draws from the prior land in holes the decoder never
    saw, and decode to blurs. A sampler fitted to the encoded training set
    after training (ex post, as in pythae and Ghosh et al.'s "From
    Variational to Deterministic Autoencoders") draws where the data are.
    `vae.sample(n, sampler=sampler)` uses it for the latent that `vae.prior`
    models: all of `z`, or a `HierarchicalVAE`'s top group (the groups
    below are then drawn from their priors, given it).

    A sampler is a Keras layer, as a `Prior` is: attached to a model with
    `vae.set_sampler(sampler)`, its weights save and load with the model's
    `.keras` file and its SavedModel. Its config keeps the shape of the
    latent it was fitted to and the `fingerprint` of the weights that
    encoded it (`vae.latent_fingerprint()`), so a model with other weights
    refuses it rather than draw from a mixture of another model's codes.

    To write one, subclass it and implement:

    - `fit_latents(z)`: fits the sampler to `z`, a float64 NumPy array
      `(n, size)` of posterior means (`size` the latent shape's product),
      and assigns its weights. `fit(vae, x)` encodes `x`, builds the
      sampler (`build` creates the weights, after `super().build`, which
      sets `latent_shape`), calls it, and records the fingerprint.
    - `sample(num_samples, seed=None, temperature=1.0)`: draws of shape
      `(num_samples,) + latent_shape`, written with `keras.ops` and
      `keras.random` so that they run on every backend and inside a
      SavedModel; `seed` as `keras.random` takes it (a
      `keras.random.SeedGenerator` inside a compiled function), and
      `temperature` scales the spread around the modes (0: the modes,
      1: the fitted distribution).
    - `get_config`, with its constructor's arguments, its `**kwargs`
      passed on to this class (they carry `latent_shape` and
      `fingerprint`); registered with
      `keras.saving.register_keras_serializable`, it loads with the model.

    Args:
        latent_shape: The shape of the latent it was fitted to, without
            the batch axis; `None` until fitted. Set by `fit`.
        fingerprint: `vae.latent_fingerprint()` of the model it was fitted
            to; `None` until fitted. Set by `fit`.
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    ```python
    @keras.saving.register_keras_serializable(package="my_samplers")
    class DiagonalGaussian(keras_vae.samplers.Sampler):
        def build(self, input_shape):
            super().build(input_shape)
            size = math.prod(self.latent_shape)
            self.mean = self.add_weight(
                shape=(size,), initializer="zeros", trainable=False)
            self.std = self.add_weight(
                shape=(size,), initializer="ones", trainable=False)

        def fit_latents(self, z):
            self.mean.assign(z.mean(axis=0))
            self.std.assign(z.std(axis=0))

        def sample(self, num_samples, seed=None, temperature=1.0):
            epsilon = keras.random.normal(
                (num_samples,) + self.mean.shape, seed=seed)
            z = self.mean + self.std * epsilon * temperature
            return keras.ops.reshape(z, (-1,) + self.latent_shape)

    sampler = DiagonalGaussian().fit(vae, x_train)
    images = vae.sample(16, sampler=sampler)
    ```
    """

    def __init__(self, latent_shape=None, fingerprint=None, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.latent_shape = (
            None if latent_shape is None else tuple(latent_shape)
        )
        self.fingerprint = fingerprint

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) < 2 or any(
            not isinstance(d, int) or d < 1 for d in shape[1:]
        ):
            raise ValueError(
                "A sampler is built with the shape of `z`, `(batch,) + "
                "latent_shape`, with known sizes. Received: "
                f"input_shape={input_shape}"
            )
        self.latent_shape = shape[1:]

    def get_build_config(self):
        if not self.built:
            return None
        return {"input_shape": (None,) + tuple(self.latent_shape)}

    @property
    def fitted(self):
        """Whether the sampler was fitted to a model (or loaded fitted)."""
        return self.fingerprint is not None

    def fit(self, vae, x, labels=None, batch_size=256):
        """Fits the sampler to the posterior means of `x` under `vae`, and
        returns it.

        The means are those of the latent `vae.prior` models: all of `z`,
        or a `HierarchicalVAE`'s top group; `labels` are those of a
        `ConditionalVAE`'s `x` (refused otherwise). A sampler fitted
        before is fitted again (to latents of the same shape).
        """
        latent_shape = tuple(vae.prior.latent_shape)
        if self.built and tuple(self.latent_shape) != latent_shape:
            raise ValueError(
                "This sampler was built for latents of another shape than "
                "this model's: make a new sampler for it. Received: "
                f"latent_shape={latent_shape}, the sampler's "
                f"latent_shape={tuple(self.latent_shape)}"
            )
        z = encoded_means(vae, x, labels, batch_size)
        self.fingerprint = None
        if not self.built:
            self.build((None,) + latent_shape)
        self.fit_latents(z)
        self.fingerprint = vae.latent_fingerprint()
        return self

    def fit_latents(self, z):
        """Fits the sampler to `z`, float64 `(n, size)`, and assigns its
        weights; `fit` calls it with the encoded training set."""
        raise self._not_implemented("fit_latents(z)")

    def sample(self, num_samples, seed=None, temperature=1.0):
        """Draws `num_samples` latents, shape `(num_samples,) +
        latent_shape`; `seed` as `keras.random` takes it, `temperature`
        scales the spread."""
        raise self._not_implemented(
            "sample(num_samples, seed=None, temperature=1.0)"
        )

    def set_model(self, vae):
        """Called by the VAE that samples with this sampler before it
        draws: a sampler defined through the model keeps what it needs
        here (see `PriorSampler`). The default does nothing."""

    def check_model(self, vae):
        """Raises a `ValueError` unless the sampler was fitted to `vae`:
        to latents of its shape, encoded by weights of its fingerprint."""
        name = type(self).__name__
        if not self.fitted:
            raise ValueError(
                f"The {name} was never fitted: fit it to the model's "
                "training data first, `sampler.fit(vae, x_train)`. "
                "Received: an unfitted sampler"
            )
        latent_shape = tuple(vae.prior.latent_shape)
        fingerprint = vae.latent_fingerprint()
        if (tuple(self.latent_shape), self.fingerprint) != (
            latent_shape,
            fingerprint,
        ):
            raise ValueError(
                f"The {name} was fitted to another model: it models "
                f"latents of shape {tuple(self.latent_shape)} encoded by "
                f"weights of fingerprint {self.fingerprint!r}, and this "
                f"model's are of shape {latent_shape}, by weights of "
                f"fingerprint {fingerprint!r} (trained since, or another "
                "model). Fit it again, `sampler.fit(vae, x_train)`. "
                f"Received: sampler fitted to latent_shape="
                f"{tuple(self.latent_shape)}, fingerprint="
                f"{self.fingerprint!r}"
            )

    def takes_temperature(self):
        """Whether `sample` takes a `temperature` keyword argument."""
        return "temperature" in inspect.signature(self.sample).parameters

    def get_config(self):
        return {
            **super().get_config(),
            "latent_shape": (
                None if self.latent_shape is None else list(self.latent_shape)
            ),
            "fingerprint": self.fingerprint,
        }

    def _check_fitted(self):
        """Raises unless the sampler has fitted weights to draw from."""
        if not self.fitted or not self.built:
            raise ValueError(
                f"The {type(self).__name__} was never fitted, so it has "
                "nothing to draw from: fit it to the model's training data "
                "first, `sampler.fit(vae, x_train)`. "
                "Received: an unfitted sampler"
            )

    def _not_implemented(self, method):
        name = type(self).__name__
        return NotImplementedError(
            f"Every `keras_vae.samplers.Sampler` implements `{method}`, but "
            f"{name} does not. Received: sampler of type {name}"
        )


def encoded_means(vae, x, labels=None, batch_size=256):
    """The posterior means of the latent `vae.prior` models for the data
    `x` (and a `ConditionalVAE`'s `labels`), a float64 array `(n, size)`
    of finite values."""
    batch_size = check_positive_int(batch_size, "batch_size")
    inputs = vae.model_inputs(x, labels)
    (means,) = in_batches(
        lambda batch: vae.top_posterior_params(batch)[:1], inputs, batch_size
    )
    means = means.reshape(len(means), -1).astype("float64")
    if not np.all(np.isfinite(means)):
        raise ValueError(
            "The model encodes some of `x` to non-finite latents, which no "
            "sampler can fit: check the data and the model. Received: "
            f"{int(np.sum(~np.isfinite(means).all(axis=1)))} such examples"
        )
    return means


def check_temperature(temperature):
    """Returns a Python-number `temperature` as a float >= 0, else raises;
    a tensor (inside a compiled function) is returned as it is."""
    if isinstance(temperature, (int, float, np.number)):
        return check_non_negative_float(temperature, "temperature")
    if keras.ops.is_tensor(temperature):
        return temperature
    return check_non_negative_float(temperature, "temperature")
