import inspect

import keras


class Prior(keras.layers.Layer):
    """The base class of the priors `p(z)` of a VAE.

    A prior is a Keras layer, so its weights (a mixture's means, a
    VampPrior's pseudo-inputs) train with the VAE and save with it. The VAE
    builds it with the shape of `z`, `(batch,) + latent_shape`, and calls
    two methods, written with `keras.ops` and `keras.random` so that they
    run on every backend:

    - `log_prob(z)`: `log p(z)` per example, shape `(batch,)`, summed over
      the latent axes, for `z` of shape `(batch,) + latent_shape`;
    - `sample(num_samples, seed=None)`: draws of shape
      `(num_samples,) + latent_shape`. `seed` is what `keras.random` takes:
      None, an integer, or a `keras.random.SeedGenerator` (the one form
      that works inside a compiled function). A prior that can sample at a
      temperature (a spread scaled by `temperature`, as `VAE.sample`
      offers) takes a `temperature=1.0` keyword argument too.

    A subclass implements both, creates its weights in `build` after
    calling `super().build(input_shape)` (which sets `latent_shape`), and
    returns its constructor arguments from `get_config`. Registered with
    `keras.saving.register_keras_serializable`, it saves and loads with the
    VAE like the priors shipped here.

    With `keras_vae.priors.StandardNormal`, the default, the VAE's
    `KLDivergenceLayer` adds the KL term in closed form. With any other
    prior the VAE adds the Monte-Carlo estimate `log q(z|x) - log p(z)` at
    the `z` it drew (see `keras_vae.layers.MonteCarloKLDivergenceLayer`),
    and its importance weights use `log_prob`.

    A prior defined through the model, such as `VampPrior` (through its
    encoder), overrides `set_model(model)`, which the VAE calls once before
    building it.

    Example:

    ```python
    @keras.saving.register_keras_serializable(package="my_priors")
    class LearnedGaussian(keras_vae.priors.Prior):
        def build(self, input_shape):
            super().build(input_shape)
            self.mean = self.add_weight(
                shape=self.latent_shape, initializer="zeros", name="mean")
            self.log_var = self.add_weight(
                shape=self.latent_shape, initializer="zeros", name="log_var")

        def log_prob(self, z):
            log_p = -0.5 * (math.log(2 * math.pi) + self.log_var
                            + (z - self.mean) ** 2 / ops.exp(self.log_var))
            return ops.sum(ops.reshape(log_p, (ops.shape(z)[0], -1)), -1)

        def sample(self, num_samples, seed=None):
            epsilon = keras.random.normal(
                (num_samples,) + self.latent_shape, seed=seed)
            return self.mean + ops.exp(0.5 * self.log_var) * epsilon

    vae = keras_vae.build_mlp_vae(prior=LearnedGaussian())
    ```
    """

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) < 2 or any(
            not isinstance(d, int) or d < 1 for d in shape[1:]
        ):
            raise ValueError(
                f"A prior is built with the shape of `z`, `(batch,) + "
                f"latent_shape`, with known sizes. Received: "
                f"input_shape={input_shape}"
            )
        self.latent_shape = shape[1:]

    def set_model(self, model):
        """Called once by the `keras_vae.VAE` that owns this prior, before
        it builds it: a prior defined through the model keeps what it needs
        here (see `VampPrior`). The default does nothing."""

    def log_prob(self, z):
        """`log p(z)` per example, shape `(batch,)`, for `z` of shape
        `(batch,) + latent_shape`."""
        raise self._not_implemented("log_prob(z)")

    def sample(self, num_samples, seed=None):
        """Draws `num_samples` values of `z`, shape `(num_samples,) +
        latent_shape`; `seed` as `keras.random` takes it."""
        raise self._not_implemented("sample(num_samples, seed=None)")

    def call(self, z):
        return self.log_prob(z)

    def compute_output_shape(self, input_shape):
        return (input_shape[0],)

    def get_build_config(self):
        # The VAE builds its prior (after `set_model`), with its own latent
        # shape: a prior loaded from a file is built there, not before.
        return None

    def takes_temperature(self):
        """Whether `sample` takes a `temperature` keyword argument."""
        return "temperature" in inspect.signature(self.sample).parameters

    def _not_implemented(self, method):
        name = type(self).__name__
        return NotImplementedError(
            f"Every `keras_vae.priors.Prior` implements `{method}`, but "
            f"{name} does not. Received: prior of type {name}"
        )
