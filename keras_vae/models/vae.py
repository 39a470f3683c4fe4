import copy

import keras

from keras_vae import backend
from keras_vae import likelihoods
from keras_vae.models import preprocessing as preprocessing_module
from keras_vae.models import submodels
from keras_vae.models.data_units import DataUnitsMixin
from keras_vae.models.keras_contract import KerasContractMixin
from keras_vae.models.vae_inference import InferenceMixin
from keras_vae.models.vae_losses import LossesMixin
from keras_vae.models.vae_steps import StepsMixin
from keras_vae.utils.argument_checks import check_positive_int


@keras.saving.register_keras_serializable(package="keras_vae")
class VAE(
    KerasContractMixin,
    StepsMixin,
    LossesMixin,
    InferenceMixin,
    DataUnitsMixin,
    backend.Trainer,
    keras.Model,
):
    """A variational autoencoder that trains with `model.fit(x)`.

    The encoder maps `x` to `[z_mean, z_log_var, z]`: the parameters of
    `q(z|x) = N(z_mean, exp(z_log_var))` and a reparameterized draw `z`. It
    must contain a `KLDivergenceLayer`, which adds `beta * KL(q(z|x) || p(z))`
    with `add_loss`. The decoder maps `z` to the parameters of `p(x|z)`
    (logits for `"bernoulli"`, the mean for `"gaussian"`).

    Training minimizes the negative ELBO, in nats per example:
    `reconstruction_loss` (the negative log-likelihood of `x`, summed over
    the data dimensions and averaged over the batch) plus `kl_loss` (the sum
    of the losses the KL layers added: the beta-weighted KL), plus any
    other loss a layer added (a weight regularizer). `fit`, `evaluate` and
    the metrics report the three, and
    for image data `(height, width, channels)` also `bits_per_dim`: `loss`
    divided by the number of values and `log 2` (the negative ELBO in bits
    per dimension when `beta` is 1 and free bits are off).

    The likelihood models the data in the units it is given in. 8-bit
    pixels (`preprocessing="8bit"`) under a density (`"gaussian"`) are
    dequantized in `fit` and `evaluate`, `x + u` with `u ~ U[0, 1)`, so
    that the loss bounds the probability of the 8-bit image and its bits
    per dimension compare with those of a discrete likelihood over the 256
    values, such as `"discretized_logistic_mixture"` (which takes the pixel
    values 0-255 itself, and implies `preprocessing="8bit"`).

    With `num_importance_samples=K > 1` it minimizes instead the negative
    importance-weighted bound of Burda et al. (IWAE),
    `-log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x)` with `z_k ~ q(z|x)`, which
    is tighter than the ELBO; `loss` is then that bound (plus any weight
    regularizer), `reconstruction_loss` the mean over the `K` draws, and
    `kl_loss` the same KL layers' term as under the ELBO, reported but not
    optimized (so `beta` and free bits do not apply).

    Calling the model returns the deterministic reconstruction, the mean of
    `p(x|z_mean)`; that is what `predict` and an export serve.

    It trains on every Keras backend (TensorFlow, JAX, PyTorch): the
    model's math is `keras.ops`, and each backend's training step lives in
    `keras_vae/backend/<name>/trainer.py`. On TensorFlow, `compile`
    defaults to the fast path: `steps_per_execution=32`, where one program
    runs 32 training steps (the same steps on the same batches as one at a
    time), compiled with XLA (`jit_compile=True`) unless the model has
    convolutions and no GPU is present; under a `tf.distribute` strategy
    Keras's own per-step function is used, with one step per execution.
    JAX runs 32 jit-compiled steps per execution too; PyTorch one eager
    step. As with any Keras model, batch-level callbacks then run once per
    execution; pass `steps_per_execution=1` to `compile` for per-step
    callbacks (a callback that needs every batch gets one step per
    execution by itself, unless `compile` was given a number).

    On TensorFlow `fit` feeds in-memory arrays through Keras's own array
    pipeline with tf.data's autotuner off (the same batches in the same
    order; see `ArrayDataset`). `fit` adds a
    `keras_vae.callbacks.TerminateOnNaN`, which
    raises an error naming the non-finite term, epoch and batches as soon
    as a logged loss turns NaN or infinite, unless `callbacks` holds a
    `keras.callbacks.TerminateOnNaN` already.

    Args:
        encoder: A `keras.Model` from `x` to `[z_mean, z_log_var, z]` that
            contains a `KLDivergenceLayer`.
        decoder: A `keras.Model` from `z` to the likelihood's parameters:
            the shape of `x`, with `likelihood.output_channels(channels)`
            on the last axis (as many as `x` has for Bernoulli and
            Gaussian).
        likelihood: `"bernoulli"` (data in [0, 1]), `"gaussian"` (learned
            per-feature scale), `"discretized_logistic_mixture"` or
            `"discretized_logistic"` (8-bit pixel values), or a
            `keras_vae.likelihoods` instance.
        num_importance_samples: `K`, the number of draws of `z` per example
            in the training objective: 1 (the default) gives the ELBO, more
            the IWAE bound.
        seed: Optional integer seed of the importance samples' noise.
        preprocessing: The units of `x`, mapped inside the model to the
            units of the encoder and the likelihood: `None` (the data are
            in those units already, e.g. floats in [0, 1] for Bernoulli),
            `"8bit"` (pixel values 0-255, uint8 or float: rescaled to
            [0, 1]), or a `keras.layers.Normalization` adapted on the
            training rows of a table. With one, every method takes and
            returns data in its own units (`decode` gives pixel values or
            table rows back), and a Gaussian likelihood's log-densities
            include the map's Jacobian, so they are of the data as given.
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
        Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014;
        Burda, Grosse and Salakhutdinov, "Importance Weighted Autoencoders",
        ICLR 2016.
    """

    def __init__(
        self,
        encoder,
        decoder,
        likelihood="bernoulli",
        num_importance_samples=1,
        seed=None,
        preprocessing=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._check_submodels(encoder, decoder)
        self.num_importance_samples = check_positive_int(
            num_importance_samples, "num_importance_samples"
        )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.encoder = encoder
        self.decoder = decoder
        likelihood = likelihoods.get(likelihood)
        if likelihood.pixel_values:
            preprocessing = submodels.pixel_preprocessing(
                preprocessing, likelihood
            )
        self._preprocessing_argument = preprocessing
        self.preprocessing = preprocessing_module.get(preprocessing)
        if self.preprocessing is not None and not self.preprocessing.built:
            self.preprocessing.build((None,) + self.data_shape)
        self.likelihood = likelihood
        submodels.check_decoder_output(
            decoder, self.data_shape, self.likelihood
        )
        if not self.likelihood.built:
            # A deserialized likelihood was built already from its config.
            self.likelihood.build(decoder.output_shape)
        if (
            isinstance(self.preprocessing, keras.layers.Normalization)
            and not self.likelihood.continuous
        ):
            raise ValueError(
                "Standardized data are real values, but this likelihood "
                "models values in [0, 1]: use `likelihood='gaussian'` for "
                "tables. Received: likelihood="
                f"{type(self.likelihood).__name__}, preprocessing="
                "Normalization"
            )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_loss_tracker = keras.metrics.Mean(
            name="reconstruction_loss"
        )
        self.kl_loss_tracker = keras.metrics.Mean(name="kl_loss")
        if self._reports_bits_per_dim:
            self.bits_per_dim_tracker = keras.metrics.Mean(name="bits_per_dim")
        # The KL warm-up schedule `[steps, start_beta, target_beta]`, applied
        # in the compiled step (off while `steps` is 0); see `set_kl_warmup`.
        self.kl_warmup = self.add_weight(
            shape=(3,),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            autocast=False,
            aggregation="only_first_replica",
            name="kl_warmup",
        )
        self.built = True

    @property
    def latent_shape(self):
        """The shape of `z` without the batch axis."""
        return tuple(self.decoder.inputs[0].shape[1:])

    @property
    def data_shape(self):
        """The shape of one example `x` without the batch axis."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def kl_layers(self):
        """The `KLDivergenceLayer`s of the encoder (set `.beta` on them)."""
        return submodels.kl_layers(self.encoder)

    @property
    def _trackers(self):
        trackers = [
            self.loss_tracker,
            self.reconstruction_loss_tracker,
            self.kl_loss_tracker,
        ]
        if self._reports_bits_per_dim:
            trackers.append(self.bits_per_dim_tracker)
        return trackers

    @property
    def metrics(self):
        # The three trackers, then the metrics given to `compile`; Keras's
        # own "loss" tracker stays out (this model tracks its loss itself).
        trackers = self._trackers
        others = [
            m
            for m in super().metrics
            if m.name != "loss" and all(m is not t for t in trackers)
        ]
        return trackers + others

    # The hooks a conditional VAE overrides: which submodels it accepts, and
    # what the encoder and decoder take, given the model inputs (here `x`).
    def _check_submodels(self, encoder, decoder):
        submodels.check_submodels(encoder, decoder)

    def _data(self, inputs):
        return inputs

    def _encoder_inputs(self, inputs):
        return self._model_units(inputs)

    def _decoder_inputs(self, z, inputs, repeats=1):
        return z

    @property
    def _reports_bits_per_dim(self):
        """Whether `fit` and `evaluate` log `bits_per_dim`: for image data,
        `(height, width, channels)`."""
        return len(self.data_shape) == 3

    def call(self, inputs, training=False):
        z_mean, _, _ = self.encoder(
            self._encoder_inputs(inputs), training=training
        )
        params = self.decoder(
            self._decoder_inputs(z_mean, inputs), training=training
        )
        return self._decoded_mean(params)

    def compute_output_shape(self, input_shape):
        # The reconstruction has the shape of `x` (the first input).
        if isinstance(input_shape, (list, tuple)) and isinstance(
            input_shape[0], (list, tuple)
        ):
            input_shape = input_shape[0]
        return tuple(input_shape)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": keras.saving.serialize_keras_object(self.likelihood),
            "num_importance_samples": self.num_importance_samples,
            "seed": self.seed,
            "preprocessing": (
                keras.saving.serialize_keras_object(self.preprocessing)
                if isinstance(self._preprocessing_argument, keras.layers.Layer)
                else self._preprocessing_argument
            ),
        }

    @classmethod
    def from_config(cls, config):
        # Deep copy: Keras's deserialization empties the nested configs.
        config = copy.deepcopy(config)
        for key in ("encoder", "decoder", "likelihood"):
            config[key] = keras.saving.deserialize_keras_object(config[key])
        if isinstance(config.get("preprocessing"), dict):
            config["preprocessing"] = keras.saving.deserialize_keras_object(
                config["preprocessing"]
            )
        return cls(**config)
