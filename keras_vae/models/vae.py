import contextlib
import copy
import math
import warnings

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp
from keras import ops

from keras_vae import likelihoods
from keras_vae.callbacks.progbar_logger import ProgbarLogger
from keras_vae.callbacks.terminate_on_nan import with_terminate_on_nan
from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.layers.sampling import replica_normal
from keras_vae.models import preprocessing as preprocessing_module
from keras_vae.models.array_dataset import ArrayDataset
from keras_vae.models.array_dataset import is_array_input
from keras_vae.models.fused_function import FusedFunction
from keras_vae.models.steps_per_execution import exact_steps_per_execution
from keras_vae.models.steps_per_execution import needs_every_batch
from keras_vae.utils import data_checks
from keras_vae.utils.argument_checks import check_fit_arguments
from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.argument_checks import fit_arguments
from keras_vae.utils.log_variance import clip_log_variance

#: The default `steps_per_execution` of `VAE.compile`.
STEPS_PER_EXECUTION = 32

_CONVOLUTIONS = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
)


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
    regularizer). `fit`, `evaluate` and the metrics report all three, and
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
    `kl_loss` the layers' KL term, reported but not optimized (so `beta`
    and free bits do not apply).

    Calling the model returns the deterministic reconstruction, the mean of
    `p(x|z_mean)`; that is what `predict` and an export serve.

    `compile` defaults to the fast path: `steps_per_execution=32`, where one
    program runs 32 training steps (the same steps on the same batches as
    one at a time), compiled with XLA (`jit_compile=True`) unless the model
    has convolutions and no GPU is present. As with any
    Keras model, batch-level callbacks then run every 32 steps; pass
    `steps_per_execution=1` to `compile` for per-step callbacks. Under a
    `tf.distribute` strategy Keras's own per-step function is used, and
    `steps_per_execution` defaults to 1.

    `fit` feeds in-memory arrays through Keras's own array pipeline with
    tf.data's autotuner off (the same batches in the same order; see
    `ArrayDataset`), and adds a `keras_vae.callbacks.TerminateOnNaN`, which
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
        if getattr(likelihood, "pixel_values", False):
            preprocessing = _pixel_preprocessing(preprocessing, likelihood)
        self._preprocessing_argument = preprocessing
        self.preprocessing = preprocessing_module.get(preprocessing)
        if self.preprocessing is not None and not self.preprocessing.built:
            self.preprocessing.build((None,) + self.data_shape)
        self.likelihood = likelihood
        _check_decoder_output(decoder, self.data_shape, self.likelihood)
        if not self.likelihood.built:
            # A deserialized likelihood was built already from its config.
            self.likelihood.build(decoder.output_shape)
        if isinstance(
            self.preprocessing, keras.layers.Normalization
        ) and not getattr(self.likelihood, "continuous", False):
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

    @property
    def kl_layers(self):
        """The `KLDivergenceLayer`s of the encoder (set `.beta` on them)."""
        return _kl_layers(self.encoder)

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

    def compile(
        self,
        optimizer="rmsprop",
        *args,
        steps_per_execution=None,
        jit_compile=None,
        **kwargs,
    ):
        # What the user asked for; `None` where our defaults apply.
        self._compile_arguments = {
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
        }
        if steps_per_execution is None:
            # Keras's multi-step function fails under a strategy
            # (keras-team/keras#19246): one step per execution there.
            steps_per_execution = (
                1 if self._has_strategy() else STEPS_PER_EXECUTION
            )
        steps_per_execution = check_positive_int(
            steps_per_execution, "steps_per_execution"
        )
        loss = args[0] if args else kwargs.get("loss")
        if loss is not None:
            raise ValueError(
                "A VAE computes its own loss (the negative ELBO, or the IWAE "
                "bound), so a `loss` given to `compile` would be ignored. "
                f"Leave it out. Received: loss={loss!r}"
            )
        if jit_compile is None:
            jit_compile = self._default_jit_compile()
        super().compile(
            optimizer,
            *args,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            **kwargs,
        )

    def _default_jit_compile(self):
        # XLA on one device, except for convolutions on a CPU: XLA's CPU
        # convolutions inside the fused loop measured 12x slower than
        # TensorFlow's. Under a strategy, Keras's own choice.
        if self._has_strategy():
            return "auto"
        has_conv = any(
            isinstance(layer, _CONVOLUTIONS)
            for layer in self._flatten_layers(include_self=False)
        )
        if has_conv and not tf.config.list_physical_devices("GPU"):
            return "auto"
        return True

    def _has_strategy(self):
        # Created under a strategy's scope, or used under one now.
        return (
            self._distribute_strategy is not None
            or tf.distribute.has_strategy()
        )

    def get_compile_config(self):
        config = super().get_compile_config()
        if config:
            # Saved as the user gave them, so a model reloaded on another
            # machine (say, with a GPU) takes the defaults of that machine.
            config.update(self._compile_arguments)
        return config

    def compile_from_config(self, config):
        # What Keras does for a model whose `compile` is its own: rebuild
        # the arguments `compile` recorded (the optimizer included).
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def make_train_function(self, force=False):
        if self.train_function is not None and not force:
            return self.train_function
        super().make_train_function(force=force)
        if self._fuses_steps():
            self.train_function = FusedFunction(
                self, self.train_step, self.train_function
            )
        return self.train_function

    def make_test_function(self, force=False):
        if self.test_function is not None and not force:
            return self.test_function
        super().make_test_function(force=force)
        if self._fuses_steps():
            self.test_function = FusedFunction(
                self, self.test_step, self.test_function
            )
        return self.test_function

    def _fuses_steps(self):
        return (
            self.steps_per_execution > 1
            and not self._has_strategy()
            and not self.run_eagerly
        )

    @contextlib.contextmanager
    def _steps_per_execution_of(self, callbacks, *counts):
        """Runs a `fit`, `evaluate` or `predict` with as many steps per
        execution as keep it exact: one when a callback must see every
        batch (unless the user chose `steps_per_execution`), and a divisor
        of any step counts asked."""
        compiled = self.steps_per_execution
        steps = compiled
        # An uncompiled model predicts, as any Keras model: nothing chosen.
        chosen = getattr(self, "_compile_arguments", {})
        if chosen.get("steps_per_execution") is None and any(
            map(needs_every_batch, _callback_list(callbacks))
        ):
            steps = 1
        steps = exact_steps_per_execution(steps, *counts)
        if steps != compiled:
            self._set_steps_per_execution(steps)
        try:
            yield
        finally:
            if steps != compiled:
                self._set_steps_per_execution(compiled)

    def _set_steps_per_execution(self, steps):
        self.steps_per_execution = steps
        self.train_function = None
        self.test_function = None
        self.predict_function = None

    def set_kl_warmup(self, warmup_steps, start_beta=0.0, target_beta=1.0):
        """Schedules `beta = start + (target - start) * min(1, step /
        warmup_steps)` for every `KLDivergenceLayer`, where `step` is
        `optimizer.iterations`.

        The training step applies it before each step, inside the compiled
        program: it is exact for any `steps_per_execution`, and the schedule
        is saved with the model, so a resumed run continues it.
        `warmup_steps=0` turns it off. `keras_vae.callbacks.KLWarmup` sets
        it from a number of epochs.
        """
        warmup_steps = float(warmup_steps)
        if not 0 <= warmup_steps < math.inf:
            raise ValueError(
                "Invalid value for argument `warmup_steps`: expected a "
                f"finite number >= 0. Received: warmup_steps={warmup_steps!r}"
            )
        start_beta = check_non_negative_float(start_beta, "start_beta")
        target_beta = check_non_negative_float(target_beta, "target_beta")
        self.kl_warmup.assign([warmup_steps, start_beta, target_beta])

    def _apply_kl_warmup(self):
        steps, start, target = (self.kl_warmup[i] for i in range(3))
        step = ops.cast(self.optimizer.iterations, "float32")
        fraction = ops.minimum(1.0, step / ops.maximum(steps, 1.0))
        beta = start + (target - start) * fraction
        for layer in self.kl_layers:
            layer.beta_variable.assign(
                ops.where(steps > 0, beta, layer.beta_variable)
            )

    # The hooks a conditional VAE overrides: which submodels it accepts, and
    # what the encoder and decoder take, given the model inputs (here `x`).
    def _check_submodels(self, encoder, decoder):
        _check_submodels(encoder, decoder)

    def _data(self, inputs):
        return inputs

    def _encoder_inputs(self, inputs):
        return self._model_units(inputs)

    def _decoder_inputs(self, z, inputs, repeats=1):
        return z

    @property
    def input_dtype(self):
        """The dtype of `x` as the model takes it: uint8 for 8-bit pixels,
        else float32."""
        if self._preprocessing_argument == preprocessing_module.PIXELS_8BIT:
            return "uint8"
        return "float32"

    def _model_units(self, x):
        """`x` mapped to the units of the encoder and the likelihood."""
        if self.preprocessing is None:
            return x
        return self.preprocessing(ops.cast(x, "float32"))

    def _data_units(self, u):
        """The inverse of `_model_units`: decoded values in `x`'s units."""
        if self.preprocessing is None:
            return u
        scale, offset = preprocessing_module.affine(self.preprocessing)
        return (ops.cast(u, "float32") - offset) / scale

    def _decoded_mean(self, params):
        """The mean of `p(x|z)` for the decoder's `params`, in the data's
        units (pixel values 0-255 for an 8-bit model)."""
        mean = self.likelihood.mean(params)
        if getattr(self.likelihood, "pixel_values", False):
            return ops.cast(mean, "float32")  # In the data's units already.
        return self._data_units(mean)

    @property
    def _dequantizes(self):
        """Whether `x` holds 8-bit values that a density models: they are
        then dequantized in the training and test steps (see
        `_dequantized`)."""
        return (
            self._preprocessing_argument == preprocessing_module.PIXELS_8BIT
            and self.likelihood.continuous
        )

    def _dequantized(self, inputs, noise=None):
        """`inputs` with `x + u`, `u ~ U[0, 1)` per value, where
        `_dequantizes` (else unchanged).

        A density `p` over pixel values then bounds the probability of the
        8-bit image: `log P(x) >= E_u log p(x + u)` (Theis et al., 2016), so
        its negative log-likelihood is in the bits per dimension of the
        discrete likelihoods, with no correction (the data's units already
        have bins of width 1). `noise` is `u`, or None to draw it.
        """
        if not self._dequantizes:
            return inputs
        x = ops.cast(self._data(inputs), "float32")
        if noise is None:
            noise = keras.random.uniform(ops.shape(x), seed=self.seed_generator)
        return self._with_data(inputs, x + ops.cast(noise, "float32"))

    def _with_data(self, inputs, x):
        """`inputs` with their data `x` replaced."""
        return x

    @property
    def _reports_bits_per_dim(self):
        """Whether `fit` and `evaluate` log `bits_per_dim`: for image data,
        `(height, width, channels)`."""
        return len(self.data_shape) == 3

    def _negative_log_likelihood(self, x, params):
        """`-log p(x|z)` per example, of `x` in its own units."""
        if getattr(self.likelihood, "pixel_values", False):
            # The likelihood models the pixel values themselves.
            return self.likelihood.negative_log_likelihood(x, params)
        nll = self.likelihood.negative_log_likelihood(
            self._model_units(x), params
        )
        if self.preprocessing is not None and self.likelihood.continuous:
            # The density of `x` is that of `u = x * scale + offset` times
            # |du/dx|.
            nll -= preprocessing_module.log_abs_jacobian(
                self.preprocessing, self.data_shape
            )
        return nll

    @property
    def _data_checks(self):
        # What checks the values of `x`: the likelihood, for data in its
        # units (a pixel likelihood's are the pixel values); the
        # preprocessing's own checks for raw data.
        if self.preprocessing is None or getattr(
            self.likelihood, "pixel_values", False
        ):
            return self.likelihood
        return preprocessing_module.RawData(self._preprocessing_argument)

    def call(self, inputs, training=False):
        z_mean, _, _ = self.encoder(
            self._encoder_inputs(inputs), training=training
        )
        params = self.decoder(
            self._decoder_inputs(z_mean, inputs), training=training
        )
        return self._decoded_mean(params)

    def compute_losses(self, inputs, training=False):
        """Returns `(loss, reconstruction_loss, kl_loss)` of one batch: batch
        means in nats (see the class docstring)."""
        inputs = self._dequantized(inputs)
        if self.num_importance_samples > 1:
            return self._importance_weighted_losses(inputs, training)
        x = self._data(inputs)
        _, _, z = self.encoder(self._encoder_inputs(inputs), training=training)
        params = self.decoder(
            self._decoder_inputs(z, inputs), training=training
        )
        nll = self._negative_log_likelihood(x, params)
        reconstruction_loss = ops.mean(nll)
        kl_loss = _sum_losses(self.losses)
        return reconstruction_loss + kl_loss, reconstruction_loss, kl_loss

    def _importance_weighted_losses(self, inputs, training):
        k = self.num_importance_samples
        batch = ops.shape(self._data(inputs))[0]
        epsilon = replica_normal(
            (k, batch) + self.latent_shape, None, self.seed_generator
        )
        log_w, log_px_z = self.log_importance_weights(
            inputs, epsilon, training=training, return_log_likelihood=True
        )
        bound = ops.logsumexp(log_w, axis=0) - math.log(k)
        # The KL layers' losses are reported, not optimized: the bound has
        # its own KL. Other added losses (weight regularizers) still count.
        kl_ids = {id(t) for layer in self.kl_layers for t in layer.losses}
        kl_loss = _sum_losses([t for t in self.losses if id(t) in kl_ids])
        other = _sum_losses([t for t in self.losses if id(t) not in kl_ids])
        loss = -ops.mean(bound) + other
        return loss, -ops.mean(log_px_z), kl_loss

    def log_importance_weights(
        self,
        inputs,
        epsilon,
        training=False,
        dtype="float32",
        return_log_likelihood=False,
    ):
        """Returns `log p(x|z_k) + log p(z_k) - log q(z_k|x)`, shape `(K,
        batch)`, for `z_k = z_mean + sigma * epsilon[k]`.

        `epsilon` has shape `(K, batch) + latent_shape`. `log p(z)` and
        `log q(z|x)` are `tensorflow_probability` densities computed in
        `dtype`. With `return_log_likelihood=True` it also returns
        `log p(x|z_k)`.
        """
        x = self._data(inputs)
        z_mean, z_log_var, _ = self.encoder(
            self._encoder_inputs(inputs), training=training
        )
        z_mean = ops.cast(z_mean, dtype)
        # Clipped to [-30, 20] as in `Sampling` and the KL layer.
        z_log_var = clip_log_variance(ops.cast(z_log_var, dtype))
        scale = ops.exp(0.5 * z_log_var)
        event_ndims = len(self.latent_shape)
        posterior = tfp.distributions.Independent(
            tfp.distributions.Normal(z_mean, scale), event_ndims
        )
        prior = tfp.distributions.Independent(
            tfp.distributions.Normal(
                ops.zeros_like(z_mean), ops.ones_like(scale)
            ),
            event_ndims,
        )
        z = z_mean + scale * ops.cast(epsilon, dtype)
        k = ops.shape(z)[0]
        flat_z = ops.reshape(ops.cast(z, "float32"), (-1,) + self.latent_shape)
        params = self.decoder(
            self._decoder_inputs(flat_z, inputs, repeats=k), training=training
        )
        tiled_x = ops.tile(x, (k,) + (1,) * len(self.data_shape))
        log_px_z = -self._negative_log_likelihood(tiled_x, params)
        log_px_z = ops.reshape(ops.cast(log_px_z, dtype), (k, -1))
        log_w = log_px_z + prior.log_prob(z) - posterior.log_prob(z)
        if return_log_likelihood:
            return log_w, log_px_z
        return log_w

    def train_step(self, data):
        inputs = self._unpack(data)
        self._apply_kl_warmup()
        with tf.GradientTape() as tape:
            loss, reconstruction_loss, kl_loss = self.compute_losses(
                inputs, training=True
            )
            # Keras sums gradients over replicas: weight each replica's
            # batch mean by its share of the global batch.
            share = _replica_share(self._data(inputs))
            scaled_loss = self.optimizer.scale_loss(loss * share)
        if self.trainable_weights:
            gradients = tape.gradient(scaled_loss, self.trainable_weights)
            self.optimizer.apply_gradients(
                zip(gradients, self.trainable_weights)
            )
        else:
            warnings.warn("The model does not have any trainable weights.")
        self._update_compiled_metrics(inputs)
        return self._update_metrics(inputs, loss, reconstruction_loss, kl_loss)

    def test_step(self, data):
        inputs = self._unpack(data)
        loss, reconstruction_loss, kl_loss = self.compute_losses(
            inputs, training=False
        )
        self._update_compiled_metrics(inputs)
        return self._update_metrics(inputs, loss, reconstruction_loss, kl_loss)

    def _update_compiled_metrics(self, inputs):
        # The metrics given to `compile` compare `x` with what `predict`
        # returns: the deterministic reconstruction.
        if self._compiled_metrics():
            reconstruction = self(inputs, training=False)
            x = ops.cast(self._data(inputs), "float32")
            self.compute_metrics(inputs, x, reconstruction)

    def _compiled_metrics(self):
        return self.metrics[len(self._trackers) :]

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        data_checks.check_labels_absent(y)
        _check_sample_weight_absent(sample_weight)
        return x

    def _update_metrics(self, inputs, loss, reconstruction_loss, kl_loss):
        # Weighted by batch size, so the epoch value is the exact mean per
        # example even when the last batch is short.
        batch_size = ops.cast(ops.shape(self._data(inputs))[0], "float32")
        # A replica's share of a short last batch can be empty: its means
        # are NaN and must not reach the totals (NaN * 0 is NaN).
        loss, reconstruction_loss, kl_loss = (
            ops.where(batch_size > 0, value, 0.0)
            for value in (loss, reconstruction_loss, kl_loss)
        )
        self.loss_tracker.update_state(loss, sample_weight=batch_size)
        self.reconstruction_loss_tracker.update_state(
            reconstruction_loss, sample_weight=batch_size
        )
        self.kl_loss_tracker.update_state(kl_loss, sample_weight=batch_size)
        if self._reports_bits_per_dim:
            # The loss (the negative ELBO, or the IWAE bound) per data
            # value, in bits.
            dims = math.prod(self.data_shape)
            self.bits_per_dim_tracker.update_state(
                loss / (dims * math.log(2)), sample_weight=batch_size
            )
        results = _metric_results(self._trackers)
        for metric in self._compiled_metrics():
            result = metric.result()
            results.update(
                result if isinstance(result, dict) else {metric.name: result}
            )
        return results

    def fit(self, x=None, y=None, *args, **kwargs):
        # Keras drops `sample_weight` from the batches when `y` is None, so
        # `_unpack` never sees it: check it here.
        _check_sample_weight_absent(kwargs.get("sample_weight"))
        arguments = fit_arguments(args, kwargs)
        check_fit_arguments(arguments)
        _check_class_weight_absent(arguments.get("class_weight"))
        x = _single_input(x)
        self._check_inputs(x, y, arguments.get("validation_data"))
        callbacks = with_terminate_on_nan(arguments.get("callbacks"))
        callbacks = _with_progbar(callbacks, arguments.get("verbose", "auto"))
        arguments["callbacks"] = callbacks
        if self._use_array_dataset(x, y, arguments):
            # The batches Keras would make of the arrays, in the same order,
            # without tf.data's autotuner (see `ArrayDataset`).
            x = ArrayDataset(
                x,
                batch_size=arguments.pop("batch_size", None) or 32,
                shuffle=arguments.pop("shuffle", True),
            )
        with self._steps_per_execution_of(
            callbacks,
            arguments.get("steps_per_epoch"),
            arguments.get("validation_steps"),
        ):
            return super().fit(x, y, **arguments)

    def _use_array_dataset(self, x, y, arguments):
        # Only where Keras would make the same dataset of the arrays: one
        # device, no labels, no split or step count of its own to apply.
        return (
            y is None
            and is_array_input(x)
            and not self._has_strategy()
            and not arguments.get("validation_split")
            and arguments.get("steps_per_epoch") is None
        )

    def evaluate(self, x=None, y=None, *args, **kwargs):
        if kwargs.get("_use_cached_eval_dataset"):
            # The validation of `fit`, whose data and callbacks `fit` set.
            return super().evaluate(x, y, *args, **kwargs)
        _check_sample_weight_absent(kwargs.get("sample_weight"))
        arguments = dict(zip(_EVALUATE_ARGUMENTS, args), **kwargs)
        check_fit_arguments(arguments)
        x = _single_input(x)
        self._check_inputs(x, y)
        arguments["callbacks"] = _with_progbar(
            arguments.get("callbacks"), arguments.get("verbose", "auto")
        )
        with self._steps_per_execution_of((), arguments.get("steps")):
            return super().evaluate(x, y, **arguments)

    def predict(self, x, *args, **kwargs):
        arguments = dict(zip(_PREDICT_ARGUMENTS, args), **kwargs)
        check_fit_arguments(arguments)
        x = _single_input(x)
        arguments["callbacks"] = _with_progbar(
            arguments.get("callbacks"), arguments.get("verbose", "auto")
        )
        with self._steps_per_execution_of((), arguments.get("steps")):
            return super().predict(x, **arguments)

    def train_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        _check_class_weight_absent(kwargs.get("class_weight"))
        _check_sample_weight_absent(sample_weight)
        x = _single_input(x)
        self._check_inputs(x, y)
        return super().train_on_batch(x, y, **kwargs)

    def test_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        _check_sample_weight_absent(sample_weight)
        x = _single_input(x)
        self._check_inputs(x, y)
        return super().test_on_batch(x, y, **kwargs)

    def compute_output_shape(self, input_shape):
        # The reconstruction has the shape of `x` (the first input).
        if isinstance(input_shape, (list, tuple)) and isinstance(
            input_shape[0], (list, tuple)
        ):
            input_shape = input_shape[0]
        return tuple(input_shape)

    def save(self, filepath, *args, **kwargs):
        if str(filepath).endswith((".h5", ".hdf5")):
            raise ValueError(
                "A VAE saves to the native Keras format only: Keras's "
                "legacy HDF5 format cannot rebuild its encoder, decoder and "
                "likelihood, so the file would not load. Use a `.keras` "
                "file (or `save_weights('….weights.h5')` for the weights). "
                f"Received: filepath={str(filepath)!r}"
            )
        return super().save(filepath, *args, **kwargs)

    def export(self, filepath, format="tf_saved_model", **kwargs):
        # Keras reads the input signature of a subclassed model from its
        # first call; a VAE knows it from its encoder (and it may never
        # have been called itself: `fit` calls the encoder and decoder).
        if kwargs.get("input_signature") is None:
            kwargs["input_signature"] = self._input_signature()
        return super().export(filepath, format=format, **kwargs)

    def _input_signature(self):
        return [
            keras.InputSpec(
                shape=(None,) + tuple(self.data_shape), dtype=self.input_dtype
            )
        ]

    def _check_inputs(self, x, y, validation_data=None):
        data_checks.check_labels_absent(y)
        data_checks.check_data(x, self.data_shape, self._data_checks, "x")
        if validation_data is not None:
            val_x, val_y, val_weight = keras.utils.unpack_x_y_sample_weight(
                validation_data
            )
            _check_sample_weight_absent(val_weight)
            data_checks.check_labels_absent(val_y, "validation_data labels")
            data_checks.check_data(
                val_x, self.data_shape, self._data_checks, "validation_data"
            )

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
        """Draws `z` from the `N(0, I)` prior and returns the mean of
        `p(x|z)` for each, as a NumPy array; reproducible for an int
        `seed`. A `temperature` below 1 draws `z ~ N(0, temperature**2 I)`,
        nearer the prior's mode: typical images rather than varied ones."""
        return self.decode(self._prior_sample(num_samples, seed, temperature))

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

    def _reconstruct(self, *arrays, batch_size):
        def reconstruct_batch(*batch):
            return [self(self._pack(batch))]

        return self._in_batches(reconstruct_batch, arrays, batch_size)[0]

    def _check_z(self, z):
        return data_checks.check_latent(z, self.latent_shape)

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
        data_checks.check_data(x, self.data_shape, self._data_checks, name)
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


# The positional arguments of `keras.Model.evaluate` and `predict` after
# `x` (and `y`).
_EVALUATE_ARGUMENTS = ("batch_size", "verbose", "sample_weight", "steps")
_PREDICT_ARGUMENTS = ("batch_size", "verbose", "steps", "callbacks")


def _single_input(x):
    """`x` of a one-element list or tuple, as Keras reads the inputs of a
    model with one input."""
    if (
        isinstance(x, (list, tuple))
        and len(x) == 1
        and isinstance(x[0], (np.ndarray, tf.Tensor))
    ):
        return x[0]
    return x


def _callback_list(callbacks):
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return callbacks.callbacks
    return list(callbacks or [])


def _with_progbar(callbacks, verbose):
    """`callbacks` with keras-vae's `ProgbarLogger` where Keras would add
    its own (its count stays exact under `steps_per_execution`)."""
    if isinstance(callbacks, keras.callbacks.CallbackList) or verbose == 0:
        return callbacks
    callbacks = list(callbacks or [])
    if not any(isinstance(c, keras.callbacks.ProgbarLogger) for c in callbacks):
        callbacks.append(ProgbarLogger())
    return callbacks


def _check_class_weight_absent(class_weight):
    if class_weight is not None:
        raise ValueError(
            "A VAE has no classes to weight: it learns from `x` alone, so "
            "`class_weight` would be silently ignored. Leave it out (to "
            "weight examples, resample the data). "
            f"Received: class_weight={class_weight!r}"
        )


def _replica_share(x):
    """This replica's fraction of the global batch: 1 on one device, and
    exact under a `tf.distribute` strategy even when a short last batch
    splits unevenly (dividing by `num_replicas_in_sync` is not)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 1.0
    batch_size = ops.cast(ops.shape(x)[0], "float32")
    return batch_size / context.all_reduce("sum", batch_size)


def _metric_results(metrics):
    """`{name: result}` of `Mean` metrics. Under a `tf.distribute` strategy
    a replica holds only its own totals: the results are those of the sums
    over all replicas, the exact global means."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return {m.name: m.result() for m in metrics}
    sums = context.all_reduce(
        "sum", ops.stack([[m.total.value, m.count.value] for m in metrics])
    )
    # Keras reduces multi-worker logs with `reduce("MEAN", v, axis=0)`,
    # which fails on scalars (tensorflow/tensorflow#72388): give it
    # vectors of one (every replica holds the same value).
    strategy = tf.distribute.get_strategy()
    index = slice(None) if _in_multi_worker_mode(strategy) else 0
    return {
        m.name: ops.divide_no_nan(sums[i : i + 1, 0], sums[i : i + 1, 1])[index]
        for i, m in enumerate(metrics)
    }


def _in_multi_worker_mode(strategy):
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


def _sum_losses(losses):
    return ops.sum([ops.cast(t, "float32") for t in losses] or [0.0])


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


def _check_submodels(encoder, decoder, num_inputs=1):
    """Checks that `encoder` and `decoder` fit together as a VAE's, each with
    `num_inputs` inputs (data or `z` first, then any conditions)."""
    for name, model in (("encoder", encoder), ("decoder", decoder)):
        if (
            not isinstance(model, keras.Model)
            or not model.built
            or len(getattr(model, "inputs", None) or []) != num_inputs
        ):
            raise ValueError(
                f"`{name}` must be a built `keras.Model` (e.g. a functional "
                f"model made from `keras.Input`) with {num_inputs} input(s). "
                f"Received: {name}={model!r}"
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
    if tuple(decoder.inputs[0].shape[1:]) != z_shape:
        raise ValueError(
            "`decoder` must take the encoder's `z`, of shape "
            f"{z_shape}. Received: decoder.input_shape={decoder.input_shape}"
        )


def _pixel_preprocessing(preprocessing, likelihood):
    """The preprocessing of a model whose likelihood is over pixel values:
    `"8bit"` (also for `None`), or an error."""
    if preprocessing in (None, preprocessing_module.PIXELS_8BIT):
        return preprocessing_module.PIXELS_8BIT
    raise ValueError(
        f"{type(likelihood).__name__} models 8-bit pixel values, so the "
        'model takes them as they are: pass `preprocessing="8bit"` (or '
        "None, which means the same here). Received: "
        f"preprocessing={preprocessing!r}"
    )


def _check_decoder_output(decoder, data_shape, likelihood):
    """Checks that `decoder` emits the likelihood's parameters for data of
    `data_shape`: its shape, with `likelihood.output_channels` channels."""
    channels = likelihood.output_channels(data_shape[-1]) if data_shape else 1
    expected = tuple(data_shape[:-1]) + (channels,)
    if tuple(decoder.output_shape[1:]) != expected:
        where = (
            f" ({type(likelihood).__name__} needs {channels} outputs for "
            f"each value of the data's last axis, of size {data_shape[-1]}: "
            "see its `output_channels`)"
            if expected != tuple(data_shape)
            else ""
        )
        raise ValueError(
            f"`decoder` must output shape {expected} for data of shape "
            f"{tuple(data_shape)}{where}. "
            f"Received: decoder.output_shape={decoder.output_shape}"
        )
