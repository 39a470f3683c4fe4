"""A VAE's array-in, array-out inference: `encode`, `decode`,
`reconstruct` and `sample`, and the tensor functions the exports trace."""

import keras
import numpy as np
from keras import ops

from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.latent_checks import check_latent


class InferenceMixin:
    """`keras_vae.VAE`'s inference methods. Each takes NumPy arrays (or
    anything `np.asarray` takes) in the data's units and returns NumPy
    arrays; `sample` and `decode` return the means of `p(x|z)`, not draws
    from it (`vae.likelihood.draw` draws)."""

    def encode(self, x, batch_size=256):
        """Returns `(z_mean, z_log_var)` of `q(z|x)` as NumPy arrays."""
        return self._encode(self._as_float_array(x, "x"), batch_size=batch_size)

    def decode(self, z, batch_size=256):
        """Returns the mean of `p(x|z)` as a NumPy array (probabilities for
        the Bernoulli likelihood)."""
        return self._decode(self._check_z(z), batch_size=batch_size)

    def reconstruct(self, x, batch_size=256):
        """Returns the mean of `p(x|z_mean)`: the deterministic
        reconstruction of `x`, as a NumPy array."""
        x = self._as_float_array(x, "x")
        return self._reconstruct(x, batch_size=batch_size)

    def sample(self, num_samples, seed=None, temperature=1.0):
        """Draws `z` from the prior and returns the mean of `p(x|z)` for
        each (not a draw from it), as a NumPy array; reproducible for an
        int `seed`. A `temperature` below 1 draws `z ~ N(0, temperature**2
        I)`, nearer the prior's mode: typical images rather than varied
        ones."""
        return self.decode(self._prior_sample(num_samples, seed, temperature))

    @property
    def mean_encoder(self):
        """The encoder as a `keras.Model` from its inputs to `z_mean`,
        without the `KLDivergenceLayer`: the one to reuse in another model
        (say, a classifier on `z_mean`).

        `vae.encoder` itself adds the VAE's KL term with `add_loss` wherever
        it is called, so a model built on it would train on that KL too.
        This model shares the encoder's layers and weights (training it
        changes the VAE's encoder; set `trainable = False` on it to freeze
        them) and adds no loss. Each access builds a new view.

        Example:

        ```python
        features = vae.mean_encoder
        features.trainable = False
        logits = keras.layers.Dense(10)(features.output)
        classifier = keras.Model(features.inputs, logits)
        ```
        """
        layers = self.kl_layers
        if len(layers) != 1 or not hasattr(self.encoder, "inputs"):
            raise ValueError(
                "`mean_encoder` needs a functional encoder with one "
                "`KLDivergenceLayer` applied to `[z_mean, z_log_var]`. "
                f"Received: an encoder with {len(layers)} such layers"
            )
        z_mean = layers[0].input[0]
        return keras.Model(
            self.encoder.inputs, z_mean, name=f"{self.encoder.name}_mean"
        )

    # The array-in, array-out work of the methods above, on `arrays` that
    # `_pack` turns into model inputs: `(x,)` here.
    def _pack(self, arrays):
        return arrays[0]

    def _encode(self, *arrays, batch_size):
        def encode_batch(*batch):
            return self._posterior_tensors(self._pack(batch))

        return tuple(self._in_batches(encode_batch, arrays, batch_size))

    def _decode(self, z, *conditions, batch_size):
        def decode_batch(z, *conditions):
            inputs = self._pack((None,) + conditions)
            return [self._decoded_mean(self._decoder_params(z, inputs))]

        return self._in_batches(decode_batch, (z,) + conditions, batch_size)[0]

    def _reconstruct(self, *arrays, batch_size):
        def reconstruct_batch(*batch):
            return [self(self._pack(batch))]

        return self._in_batches(reconstruct_batch, arrays, batch_size)[0]

    # The tensor-in, tensor-out inference of the methods above, which the
    # exports trace too; a `HierarchicalVAE` runs its top-down pass here.
    def _posterior_tensors(self, inputs):
        """`[z_mean, z_log_var]` of `q(z|x)` for the model's `inputs`."""
        outputs = self.encoder(self._encoder_inputs(inputs), training=False)
        return list(outputs[:2])

    def _prior_tensors(self, inputs):
        """`[p_mean, p_log_var]` of the prior of each latent dimension, as
        `_posterior_tensors` gives the posterior: `N(0, I)` here."""
        z_mean, _ = self._posterior_tensors(inputs)
        zeros = ops.zeros_like(z_mean)
        return [zeros, zeros]

    def _decoder_params(self, z, inputs):
        """The likelihood's parameters of `p(x|z)`; `inputs` carries what
        else the decoder takes (a conditional model's labels)."""
        return self.decoder(self._decoder_inputs(z, inputs), training=False)

    def _prior_latents(self, epsilon):
        """A draw of `z` from the prior for standard normal noise `epsilon`
        of shape `(n,) + latent_shape`: `epsilon` itself for `N(0, I)`."""
        return epsilon

    def _check_z(self, z):
        return check_latent(z, self.latent_shape)

    def _prior_sample(self, num_samples, seed, temperature=1.0):
        num_samples = check_positive_int(num_samples, "num_samples")
        temperature = check_non_negative_float(temperature, "temperature")
        epsilon = keras.random.normal(
            (int(num_samples),) + self.latent_shape, seed=seed
        )
        z = self._prior_latents(epsilon * np.float32(temperature))
        return ops.convert_to_numpy(z)

    def _as_float_array(self, x, name):
        x = np.asarray(x)
        self._data_checks.check_inputs(x, self.data_shape, name)
        return x.astype("float32", copy=False)

    @staticmethod
    def _in_batches(fn, arrays, batch_size):
        batch_size = check_positive_int(batch_size, "batch_size")
        parts = [
            [
                ops.convert_to_numpy(t)
                for t in fn(*[a[i : i + batch_size] for a in arrays])
            ]
            for i in range(0, len(arrays[0]), batch_size)
        ]
        return [np.concatenate(column) for column in zip(*parts)]
