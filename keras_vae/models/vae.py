import copy

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_vae import likelihoods
from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.utils import data_checks


@keras.saving.register_keras_serializable(package="keras_vae")
class VAE(keras.Model):
    """A variational autoencoder that trains with `model.fit(x)`.

    The encoder maps `x` to `[z_mean, z_log_var, z]`: the parameters of
    `q(z|x) = N(z_mean, exp(z_log_var))` and a reparameterized draw `z`. It
    must contain a `KLDivergenceLayer`, which adds `beta * KL(q(z|x) || p(z))`
    with `add_loss`. The decoder maps `z` to the parameters of `p(x|z)`
    (logits for `"bernoulli"`, the mean for `"gaussian"`).

    Training minimizes the negative ELBO, in nats per example:
    `reconstruction_loss` (the negative log-likelihood of `x`, summed over
    the data dimensions and averaged over the batch) plus `kl_loss` (the sum
    of the losses the layers added: the beta-weighted KL, and any weight
    regularizer). `fit`, `evaluate` and the metrics report all three.

    Calling the model returns the deterministic reconstruction, the mean of
    `p(x|z_mean)`; that is what `predict` and an export serve.

    Args:
        encoder: A `keras.Model` from `x` to `[z_mean, z_log_var, z]` that
            contains a `KLDivergenceLayer`.
        decoder: A `keras.Model` from `z` to the likelihood's parameters, of
            the same shape as `x`.
        likelihood: `"bernoulli"` (data in [0, 1]), `"gaussian"` (learned
            per-feature scale) or a `keras_vae.likelihoods` instance.
        **kwargs: Base model keyword arguments, such as `name`.

    Example:

    ```python
    vae = keras_vae.build_mlp_vae(input_shape=(28, 28, 1), latent_dim=20)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x_train, epochs=10, batch_size=128, validation_data=x_test)
    z_mean, z_log_var = vae.encode(x_test[:8])
    images = vae.decode(z_mean)
    ```

    Reference:
        Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """

    def __init__(self, encoder, decoder, likelihood="bernoulli", **kwargs):
        super().__init__(**kwargs)
        _check_submodels(encoder, decoder)
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihoods.get(likelihood)
        if not self.likelihood.built:
            # A deserialized likelihood was built already from its config.
            self.likelihood.build(decoder.output_shape)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        self.built = True

    @property
    def latent_shape(self):
        """The shape of `z` without the batch axis."""
        return tuple(self.decoder.input_shape[1:])

    @property
    def data_shape(self):
        """The shape of one example `x` without the batch axis."""
        return tuple(self.encoder.input_shape[1:])

    @property
    def kl_layers(self):
        """The `KLDivergenceLayer`s of the encoder (set `.beta` on them)."""
        return _kl_layers(self.encoder)

    @property
    def metrics(self):
        return [
            self.loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]

    def call(self, inputs, training=False):
        z_mean, _, _ = self.encoder(inputs, training=training)
        return self.likelihood.mean(self.decoder(z_mean, training=training))

    def compute_losses(self, x, training=False):
        """Returns `(reconstruction_loss, kl_loss)`, batch means in nats."""
        _, _, z = self.encoder(x, training=training)
        params = self.decoder(z, training=training)
        nll = self.likelihood.negative_log_likelihood(x, params)
        reconstruction_loss = ops.mean(nll)
        kl_loss = ops.sum([ops.cast(loss, "float32") for loss in self.losses])
        return reconstruction_loss, kl_loss

    def train_step(self, data):
        x = self._unpack(data)
        with tf.GradientTape() as tape:
            reconstruction_loss, kl_loss = self.compute_losses(x, training=True)
            loss = reconstruction_loss + kl_loss
            # Keras sums gradients over replicas: average the loss here.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled_loss = self.optimizer.scale_loss(loss / replicas)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._update_metrics(x, loss, reconstruction_loss, kl_loss)

    def test_step(self, data):
        x = self._unpack(data)
        reconstruction_loss, kl_loss = self.compute_losses(x, training=False)
        loss = reconstruction_loss + kl_loss
        return self._update_metrics(x, loss, reconstruction_loss, kl_loss)

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        data_checks.check_labels_absent(y)
        _check_sample_weight_absent(sample_weight)
        return x

    def _update_metrics(self, x, loss, reconstruction_loss, kl_loss):
        # Weighted by batch size, so the epoch value is the exact mean per
        # example even when the last batch is short.
        batch_size = ops.cast(ops.shape(x)[0], "float32")
        self.loss_tracker.update_state(loss, sample_weight=batch_size)
        self.reconstruction_loss_tracker.update_state(
            reconstruction_loss, sample_weight=batch_size
        )
        self.kl_loss_tracker.update_state(kl_loss, sample_weight=batch_size)
        return {m.name: m.result() for m in self.metrics}

    def fit(self, x=None, y=None, *args, **kwargs):
        # Keras drops `sample_weight` from the batches when `y` is None, so
        # `_unpack` never sees it: check it here.
        _check_sample_weight_absent(kwargs.get("sample_weight"))
        self._check_inputs(x, y, kwargs.get("validation_data"))
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        _check_sample_weight_absent(kwargs.get("sample_weight"))
        self._check_inputs(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    def _check_inputs(self, x, y, validation_data=None):
        data_checks.check_labels_absent(y)
        data_checks.check_data(x, self.data_shape, self.likelihood, "x")
        if validation_data is not None:
            val_x, val_y, val_weight = keras.utils.unpack_x_y_sample_weight(
                validation_data
            )
            _check_sample_weight_absent(val_weight)
            data_checks.check_labels_absent(val_y, "validation_data labels")
            data_checks.check_data(
                val_x, self.data_shape, self.likelihood, "validation_data"
            )

    def encode(self, x, batch_size=256):
        """Returns `(z_mean, z_log_var)` of `q(z|x)` as NumPy arrays."""
        x = self._as_float_array(x, "x")
        outputs = self._in_batches(
            lambda batch: self.encoder(batch, training=False)[:2], x, batch_size
        )
        return outputs[0], outputs[1]

    def decode(self, z, batch_size=256):
        """Returns the mean of `p(x|z)` as a NumPy array (probabilities for
        the Bernoulli likelihood)."""
        z = np.asarray(z, dtype="float32")
        if z.ndim < 1 or tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(
                f"`z` must have shape (batch_size,) + {self.latent_shape}. "
                f"Received: z.shape={z.shape}"
            )
        return self._in_batches(
            lambda batch: [
                self.likelihood.mean(self.decoder(batch, training=False))
            ],
            z,
            batch_size,
        )[0]

    def reconstruct(self, x, batch_size=256):
        """Returns the mean of `p(x|z_mean)`: the deterministic
        reconstruction of `x`, as a NumPy array."""
        x = self._as_float_array(x, "x")
        return self._in_batches(lambda batch: [self(batch)], x, batch_size)[0]

    def sample(self, num_samples, seed=None):
        """Draws `z` from the `N(0, I)` prior and returns the mean of
        `p(x|z)` for each, as a NumPy array; reproducible for an int
        `seed`."""
        if isinstance(num_samples, bool) or not isinstance(
            num_samples, (int, np.integer)
        ) or num_samples < 1:
            raise ValueError(
                "Invalid value for argument `num_samples`: expected an "
                f"integer >= 1. Received: num_samples={num_samples!r}"
            )
        z = keras.random.normal(
            (int(num_samples),) + self.latent_shape, seed=seed
        )
        return self.decode(ops.convert_to_numpy(z))

    def _as_float_array(self, x, name):
        x = np.asarray(x)
        data_checks.check_data(x, self.data_shape, self.likelihood, name)
        return x.astype("float32", copy=False)

    @staticmethod
    def _in_batches(fn, x, batch_size):
        parts = [
            [ops.convert_to_numpy(t) for t in fn(x[i : i + batch_size])]
            for i in range(0, len(x), batch_size)
        ]
        return [np.concatenate(column) for column in zip(*parts)]

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": keras.saving.serialize_keras_object(self.likelihood),
        }

    @classmethod
    def from_config(cls, config):
        # Deep copy: Keras's deserialization empties the nested configs.
        config = copy.deepcopy(config)
        for key in ("encoder", "decoder", "likelihood"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _check_sample_weight_absent(sample_weight):
    if sample_weight is not None:
        raise ValueError(
            "This VAE does not take `sample_weight`: its KL term is a "
            "batch mean added by a layer, so weights would apply to only "
            "half of the loss. Resample the data instead. "
            "Received: sample_weight"
        )


def _kl_layers(model):
    return [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, KLDivergenceLayer)
    ]


def _check_submodels(encoder, decoder):
    for name, model in (("encoder", encoder), ("decoder", decoder)):
        if not isinstance(model, keras.Model) or not model.built:
            raise ValueError(
                f"`{name}` must be a built `keras.Model` (e.g. a functional "
                f"model made from `keras.Input`). Received: {name}={model!r}"
            )
    outputs = encoder.outputs if hasattr(encoder, "outputs") else None
    if not outputs or len(outputs) != 3:
        raise ValueError(
            "`encoder` must output `[z_mean, z_log_var, z]`. Received: an "
            f"encoder with {len(outputs or [])} outputs"
        )
    if not _kl_layers(encoder):
        raise ValueError(
            "`encoder` must contain a `keras_vae.layers.KLDivergenceLayer` "
            "applied to `[z_mean, z_log_var]`, or the VAE would train with "
            "no KL term. Received: an encoder without one"
        )
    z_shape = tuple(encoder.outputs[2].shape[1:])
    if tuple(decoder.input_shape[1:]) != z_shape:
        raise ValueError(
            "`decoder` must take the encoder's `z`, of shape "
            f"{z_shape}. Received: decoder.input_shape={decoder.input_shape}"
        )
    if tuple(decoder.output_shape[1:]) != tuple(encoder.input_shape[1:]):
        raise ValueError(
            "`decoder` must output the shape of the data "
            f"{tuple(encoder.input_shape[1:])}. "
            f"Received: decoder.output_shape={decoder.output_shape}"
        )
