"""The variational autoencoder, `keras_vae.VAE`, in one class."""

import contextlib
import copy
import math
import warnings

import keras
import numpy as np
from keras import ops

from keras_vae import backend
from keras_vae import likelihoods
from keras_vae import priors
from keras_vae import samplers
from keras_vae.backend.function_per_steps import FunctionPerSteps
from keras_vae.callbacks.progbar_logger import ProgbarLogger
from keras_vae.callbacks.terminate_on_nan import with_terminate_on_nan
from keras_vae.layers.monte_carlo_kl_divergence_layer import (
    MonteCarloKLDivergenceLayer,
)
from keras_vae.models import preprocessing as preprocessing_module
from keras_vae.models import submodel_checks
from keras_vae.models.steps_per_execution import exact_steps_per_execution
from keras_vae.models.steps_per_execution import needs_every_batch
from keras_vae.samplers.fingerprint import weights_fingerprint
from keras_vae.utils.argument_checks import check_fit_arguments
from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.argument_checks import fit_arguments
from keras_vae.utils.batches import in_batches
from keras_vae.utils.label_checks import check_labels_absent
from keras_vae.utils.latent_checks import check_latent
from keras_vae.utils.log_variance import clip_log_variance
from keras_vae.utils.normal import normal_log_prob

# The positional arguments of `keras.Model.evaluate` and `predict` after
# `x` (and `y`).
_EVALUATE_ARGUMENTS = ("batch_size", "verbose", "sample_weight", "steps")
_PREDICT_ARGUMENTS = ("batch_size", "verbose", "steps", "callbacks")


@keras.saving.register_keras_serializable(package="keras_vae")
class VAE(backend.Trainer, keras.Model):
    """A variational autoencoder that trains with `model.fit(x)`.

    The encoder maps `x` to `[z_mean, z_log_var, z]`: the parameters of
    `q(z|x) = N(z_mean, exp(z_log_var))` and a reparameterized draw `z`. It
    must contain a `KLDivergenceLayer`, which adds `beta * KL(q(z|x) || p(z))`
    with `add_loss`. The decoder maps `z` to the parameters of `p(x|z)`
    (logits for `"bernoulli"`, the mean for `"gaussian"`). The prior `p(z)`
    is `N(0, I)` unless `prior` names another (`keras_vae.priors`): then the
    KL layer's closed form is turned off and the model adds the
    Monte-Carlo estimate `beta * (log q(z|x) - log p(z))` at the drawn `z`
    instead, with the KL layer's `beta`.

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

    The extension API. A subclass (`ConditionalVAE`, `HierarchicalVAE`)
    changes the model by overriding these public methods, and everything
    else in keras-vae (the exports, `keras_vae.evaluation`, the callbacks,
    the backends' trainers) uses only them:

    - what the networks take: `encoder_inputs(inputs)`,
      `decoder_inputs(z, inputs, repeats)`; the model's inputs of arrays,
      `model_inputs(x, labels=None)`, and the data in them, `data_of` and
      `with_data`;
    - inference on tensors: `posterior_params(inputs)`,
      `top_posterior_params(inputs)` (of the latent `prior` models),
      `prior_params(inputs)`, `decoder_params(z, inputs)`,
      `decoded_mean(params)`, `sample_latents(num_samples, seed,
      temperature, sampler)`, and what a fitted sampler checks,
      `latent_fingerprint()` and `checked_sampler(sampler)`;
    - the objective: `compute_loss_terms(inputs, training)` (a dict,
      `"loss"` first, whose other entries the metrics of the same names
      log), `negative_log_likelihood(x, params)`,
      `log_importance_weights(...)`, `dequantize(inputs, noise)`;
    - the steps, as each backend's `train_step` runs them:
      `step_inputs(data)`, `apply_kl_warmup()`, `compute_loss_terms`,
      `apply_update(gradients)` and `update_metrics(inputs, terms, update)`;
    - units: `to_model_units(x)`, `to_data_units(u)`, `input_dtype`,
      `data_checks`.

    The methods a backend's trainer provides are declared, with their
    contracts, in `keras_vae.backend.trainer.Trainer`.

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
        prior: `None` (the default: `keras_vae.priors.StandardNormal`) or
            a `keras_vae.priors.Prior`, such as `MixtureOfGaussians(10)` or
            `VampPrior(500)`. With another prior than the standard normal
            the encoder must hold one `KLDivergenceLayer`, without free
            bits (a per-dimension floor needs the closed form).
        sampler: `None` (the default: `sample` draws from `prior`) or a
            fitted `keras_vae.samplers.Sampler` that `sample` draws from
            instead (see `set_sampler`).
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

    # === Construction and config ===

    def __init__(
        self,
        encoder,
        decoder,
        likelihood="bernoulli",
        num_importance_samples=1,
        seed=None,
        preprocessing=None,
        prior=None,
        sampler=None,
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
            preprocessing = preprocessing_module.pixel_preprocessing(
                preprocessing, likelihood
            )
        self._preprocessing_argument = preprocessing
        self.preprocessing = preprocessing_module.get(preprocessing)
        if self.preprocessing is not None and not self.preprocessing.built:
            self.preprocessing.build((None,) + self.data_shape)
        self.likelihood = likelihood
        self._check_decoder_output()
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
        self.prior = self._attach_prior(prior)
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
        self.sampler = None
        self._attach_sampler(sampler)
        self.built = True

    def _check_submodels(self, encoder, decoder):
        """Checks the encoder and decoder `__init__` was given (a subclass
        that takes other networks overrides it)."""
        submodel_checks.check_encoder_and_decoder(encoder, decoder)

    def _check_decoder_output(self):
        """Checks that the decoder emits the likelihood's parameters."""
        submodel_checks.check_decoder_output(
            self.decoder, self.data_shape, self.likelihood
        )

    def _attach_prior(self, prior):
        """The `prior` argument as a built `Prior` of this model: its
        Monte-Carlo KL layer made, and the closed-form KL turned off,
        where it is not the standard normal."""
        prior = priors.get(prior)
        prior.set_model(self)
        latent_shape = self._prior_latent_shape
        if not prior.built:
            prior.build((None,) + latent_shape)
        elif tuple(prior.latent_shape) != latent_shape:
            raise ValueError(
                "The prior was built for latents of another shape than this "
                f"model's: expected latent_shape={latent_shape}. Received: "
                f"{type(prior).__name__} with "
                f"latent_shape={tuple(prior.latent_shape)}"
            )
        if not isinstance(prior, priors.StandardNormal):
            self._use_monte_carlo_kl(prior)
            _check_prior_outputs(prior, latent_shape)
        return prior

    @property
    def _prior_latent_shape(self):
        """The shape of the latent `prior` models: all of `z` here."""
        return self.latent_shape

    def _use_monte_carlo_kl(self, prior):
        """Turns off the encoder's closed-form KL (which is from N(0, I))
        and makes the layer that adds the Monte-Carlo estimate instead."""
        layers = self.kl_layers
        if len(layers) != 1 or layers[0].free_bits:
            raise ValueError(
                f"With the prior {type(prior).__name__} the KL term is a "
                "Monte-Carlo estimate, weighted by the `beta` of the "
                "encoder's one `KLDivergenceLayer`; free bits (a floor per "
                "latent dimension) need the closed form of the standard "
                "normal. Build the encoder with one KL layer and "
                "`free_bits=0`, or use `prior=None`. Received: "
                f"{len(layers)} KL layers, free_bits="
                f"{[layer.free_bits for layer in layers]}"
            )
        layers[0].closed_form = False
        self.monte_carlo_kl = MonteCarloKLDivergenceLayer(
            dtype="float32", name="monte_carlo_kl"
        )

    @property
    def latent_shape(self):
        """The shape of `z` without the batch axis."""
        return tuple(self.decoder.inputs[0].shape[1:])

    @property
    def data_shape(self):
        """The shape of one example `x` without the batch axis."""
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def input_shape(self):
        """The shape of the model's inputs with the batch axis, as a
        functional model gives it: the encoder's (a list of shapes where it
        takes several inputs, as a `ConditionalVAE` does)."""
        return self.encoder.input_shape

    @property
    def output_shape(self):
        """The shape of the model's output (the reconstruction of `call`
        and `predict`) with the batch axis: that of `x`."""
        return self.compute_output_shape(self.input_shape)

    @property
    def kl_layers(self):
        """The `KLDivergenceLayer`s of the encoder (set `.beta` on them)."""
        return submodel_checks.kl_layers(self.encoder)

    @property
    def _kl_loss_layers(self):
        """The layers whose losses are the KL term, `kl_loss`."""
        layers = self.kl_layers
        if not isinstance(self.prior, priors.StandardNormal):
            layers = layers + [self.monte_carlo_kl]
        return layers

    @property
    def _reports_bits_per_dim(self):
        """Whether `fit` and `evaluate` log `bits_per_dim`: for image data,
        `(height, width, channels)`."""
        return len(self.data_shape) == 3

    @property
    def _trackers(self):
        """The model's own metrics, which `update_metrics` updates from
        the loss terms of the same names."""
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
        # The trackers, then the metrics given to `compile`; Keras's own
        # "loss" tracker stays out (this model tracks its loss itself).
        trackers = self._trackers
        others = [
            m
            for m in super().metrics
            if m.name != "loss" and all(m is not t for t in trackers)
        ]
        return trackers + others

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": keras.saving.serialize_keras_object(self.likelihood),
            "prior": keras.saving.serialize_keras_object(self.prior),
            "num_importance_samples": self.num_importance_samples,
            "seed": self.seed,
            "preprocessing": (
                keras.saving.serialize_keras_object(self.preprocessing)
                if isinstance(self._preprocessing_argument, keras.layers.Layer)
                else self._preprocessing_argument
            ),
            "sampler": (
                None
                if self.sampler is None
                else keras.saving.serialize_keras_object(self.sampler)
            ),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**cls._deserialized(config))

    @classmethod
    def _deserialized(cls, config):
        """`config` with its Keras objects rebuilt (a deep copy: Keras's
        deserialization empties the nested configs)."""
        config = copy.deepcopy(config)
        deserialize = keras.saving.deserialize_keras_object
        for key in ("encoder", "decoder", "likelihood", "prior", "sampler"):
            if config.get(key) is not None:
                config[key] = deserialize(config[key])
        if isinstance(config.get("preprocessing"), dict):
            config["preprocessing"] = deserialize(config["preprocessing"])
        return config

    # === The model's inputs ===
    # `inputs` are what `fit` passes the model: `x` here (a conditional
    # model's are `(x, y_one_hot)`).

    def data_of(self, inputs):
        """The data `x` of the model's `inputs`."""
        return inputs

    def with_data(self, inputs, x):
        """The model's `inputs` with their data replaced by `x`."""
        return x

    def encoder_inputs(self, inputs):
        """What the encoder takes for the model's `inputs`: `x` in the
        model's units."""
        return self.to_model_units(inputs)

    def decoder_inputs(self, z, inputs, repeats=1):
        """What the decoder takes for `z` and the model's `inputs` (which
        it may repeat `repeats` times along the batch, to match `K` draws
        of `z` per example): `z` itself here."""
        return z

    def model_inputs(self, x, labels=None):
        """The model's inputs for NumPy data `x`, checked (as `encode`
        checks them) and as float32; `labels` are for a `ConditionalVAE`
        only, and refused here."""
        if labels is not None:
            raise ValueError(
                "This VAE is unconditional: `labels` apply only to a "
                "`keras_vae.ConditionalVAE`, and would be silently ignored. "
                f"Drop them. Received: labels of type {type(labels).__name__}"
            )
        return self._as_float_array(x, "x")

    # === Units ===

    @property
    def input_dtype(self):
        """The dtype of `x` as the model takes it: uint8 for 8-bit pixels,
        else float32."""
        if self._preprocessing_argument == preprocessing_module.PIXELS_8BIT:
            return "uint8"
        return "float32"

    def to_model_units(self, x):
        """`x` mapped to the units of the encoder and the likelihood."""
        if self.preprocessing is None:
            return x
        return self.preprocessing(ops.cast(x, "float32"))

    def to_data_units(self, u):
        """The inverse of `to_model_units`: values of the encoder's and
        the likelihood's units in `x`'s."""
        if self.preprocessing is None:
            return u
        scale, offset = preprocessing_module.affine(self.preprocessing)
        return (ops.cast(u, "float32") - offset) / scale

    @property
    def data_checks(self):
        """The `keras_vae.utils.data_checks.DataChecks` of `x`: the
        likelihood's, for data in its units (a pixel likelihood's are the
        pixel values), the preprocessing's own checks for raw data."""
        if self.preprocessing is None or self.likelihood.pixel_values:
            return self.likelihood
        return preprocessing_module.RawData(self._preprocessing_argument)

    def _as_float_array(self, x, name):
        x = np.asarray(x)
        self.data_checks.check_inputs(x, self.data_shape, name)
        return x.astype("float32", copy=False)

    # === Inference ===
    # Array in, array out: NumPy arrays (or anything `np.asarray` takes) in
    # the data's units; `sample` and `decode` return the means of `p(x|z)`,
    # not draws from it (`vae.likelihood.draw` draws).

    def call(self, inputs, training=False):
        z_mean, _, _ = self.encoder(
            self.encoder_inputs(inputs), training=training
        )
        params = self.decoder(
            self.decoder_inputs(z_mean, inputs), training=training
        )
        return self.decoded_mean(params)

    def compute_output_shape(self, input_shape):
        # The reconstruction has the shape of `x` (the first input).
        if isinstance(input_shape, (list, tuple)) and isinstance(
            input_shape[0], (list, tuple)
        ):
            input_shape = input_shape[0]
        return tuple(input_shape)

    def encode(self, x, batch_size=256):
        """Returns `(z_mean, z_log_var)` of `q(z|x)` as NumPy arrays."""
        inputs = self.model_inputs(x)
        return tuple(in_batches(self.posterior_params, inputs, batch_size))

    def decode(self, z, batch_size=256):
        """Returns the mean of `p(x|z)` as a NumPy array (probabilities for
        the Bernoulli likelihood)."""

        def decode_batch(z):
            return [self.decoded_mean(self.decoder_params(z))]

        return in_batches(decode_batch, self._check_z(z), batch_size)[0]

    def reconstruct(self, x, batch_size=256):
        """Returns the mean of `p(x|z_mean)`: the deterministic
        reconstruction of `x`, as a NumPy array."""
        inputs = self.model_inputs(x)
        return in_batches(lambda batch: [self(batch)], inputs, batch_size)[0]

    def sample(self, num_samples, seed=None, temperature=1.0, sampler=None):
        """Draws `z` and returns the mean of `p(x|z)` for each (not a draw
        from it), as a NumPy array; reproducible for an int `seed`.

        `z` comes from `sampler`, a fitted `keras_vae.samplers.Sampler`
        (say, a `GaussianMixtureSampler` fitted to the encoded training
        set, which draws where the data are rather than in the holes the
        prior leaves between them), or, when it is None, from the sampler
        attached with `set_sampler`, else from the prior. A `temperature`
        below 1 scales the spread (`z ~ N(0, temperature**2 I)` for the
        standard normal prior), nearer the modes: typical images rather
        than varied ones."""
        z = self._prior_sample(num_samples, seed, temperature, sampler)
        return self.decode(z)

    def set_sampler(self, sampler):
        """Attaches a fitted `keras_vae.samplers.Sampler`, which `sample`
        (and the `sample` signature of `keras_vae.export_saved_model`)
        then draws `z` from; `None` detaches it (back to the prior).

        The sampler becomes part of the model: its config and weights save
        and load with the `.keras` file, and the loaded model samples as
        this one for the same seed. It is checked here, and again each
        time `sample` uses it: a model whose encoder has other weights
        than the one it was fitted to (trained further since) refuses it.
        """
        if sampler is not None:
            sampler = self.checked_sampler(sampler)
        self._attach_sampler(sampler)

    def checked_sampler(self, sampler=None):
        """The sampler `sample` draws from for its argument `sampler`: that
        sampler, or when None the attached one (None where there is none:
        the prior), checked against this model (`Sampler.check_model`:
        fitted to latents of this shape, encoded by weights of this
        `latent_fingerprint()`)."""
        if sampler is None:
            sampler = self.sampler
            if sampler is None:
                return None
        self._check_sampler_type(sampler)
        sampler.set_model(self)
        sampler.check_model(self)
        return sampler

    def latent_fingerprint(self):
        """A short sha256 (16 hexadecimal digits) of the weights that map
        `x` to the posterior mean of the latent `prior` models: what a
        fitted sampler was fitted to, which it checks. The KL layers'
        `beta` is left out (it does not move the means)."""
        kl_weights = {id(w) for layer in self.kl_layers for w in layer.weights}
        weights = [w for w in self._latent_weights() if id(w) not in kl_weights]
        return weights_fingerprint(weights)

    def _latent_weights(self):
        """The weights that encode the latent `prior` models."""
        weights = list(self.encoder.weights)
        if self.preprocessing is not None:
            weights = list(self.preprocessing.weights) + weights
        return weights

    def _attach_sampler(self, sampler):
        """Makes `sampler` (checked, or from a config: its weights are not
        loaded yet) the model's own, in place of any other."""
        if sampler is not None:
            self._check_sampler_type(sampler)
            sampler.set_model(self)
            latent_shape = tuple(self.prior.latent_shape)
            fitted_shape = getattr(sampler, "latent_shape", None)
            if fitted_shape is not None and tuple(fitted_shape) != (
                latent_shape
            ):
                raise ValueError(
                    "The sampler was fitted to latents of another shape "
                    f"than this model's, {latent_shape}. Received: "
                    f"{type(sampler).__name__} with latent_shape="
                    f"{tuple(fitted_shape)}"
                )
        replaced = getattr(self, "sampler", None)
        if replaced is not None and replaced is not sampler:
            # Keras keeps a replaced layer among the model's layers, and
            # its weights among the model's (saved in the file); only its
            # attribute tracker lets go of it.
            self._tracker.untrack(replaced)
        self.sampler = sampler

    @staticmethod
    def _check_sampler_type(sampler):
        if not isinstance(sampler, samplers.Sampler):
            raise ValueError(
                "Invalid value for argument `sampler`: expected None or a "
                "`keras_vae.samplers.Sampler`, such as "
                "`keras_vae.samplers.GaussianMixtureSampler(10).fit(vae, "
                f"x_train)`. Received: sampler={sampler!r}"
            )

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

    def _check_z(self, z):
        return check_latent(z, self.latent_shape)

    def _prior_sample(self, num_samples, seed, temperature=1.0, sampler=None):
        """The draws of `z` that `sample` decodes, a NumPy array."""
        num_samples = check_positive_int(num_samples, "num_samples")
        temperature = self._check_temperature(temperature)
        sampler = self.checked_sampler(sampler)
        top = self._top_temperature(temperature)
        source = self.prior if sampler is None else sampler
        if top != 1 and not source.takes_temperature():
            raise ValueError(
                f"The {type(source).__name__} samples at no other "
                "temperature than 1: its `sample` takes no `temperature`. "
                f"Received: temperature={temperature}"
            )
        z = self.sample_latents(num_samples, seed, temperature, sampler)
        return ops.convert_to_numpy(z)

    def _check_temperature(self, temperature):
        """`temperature` as `sample_latents` takes it: a float >= 0."""
        if submodel_checks.is_sequence(temperature):
            raise ValueError(
                "Invalid value for argument `temperature`: expected a float "
                ">= 0 (one value per latent group applies to a "
                "`keras_vae.HierarchicalVAE`; this model has one group). "
                f"Received: temperature={temperature!r}"
            )
        return check_non_negative_float(temperature, "temperature")

    def _top_temperature(self, temperature):
        """The temperature of the latent `prior` models."""
        return temperature

    # === Inference on tensors ===
    # What `encode`, `decode` and `sample` run on each batch, and what the
    # exports trace: the extension API of inference.

    def posterior_params(self, inputs, training=False):
        """`[z_mean, z_log_var]` of `q(z|x)` for the model's `inputs`."""
        outputs = self.encoder(self.encoder_inputs(inputs), training=training)
        return list(outputs[:2])

    def top_posterior_params(self, inputs, training=False):
        """`[mean, log_var]` of the posterior of the latent that `prior`
        models, for the model's `inputs`: all of `z` here (a hierarchy's
        top group). A `VampPrior` runs its pseudo-inputs through it."""
        return self.posterior_params(inputs, training=training)

    def prior_params(self, inputs):
        """`[p_mean, p_log_var]` of the prior of each latent dimension, as
        `posterior_params` gives the posterior, or `None` when the prior is
        no diagonal Gaussian (a mixture): `N(0, I)` here."""
        if not isinstance(self.prior, priors.StandardNormal):
            return None
        z_mean, _ = self.posterior_params(inputs)
        zeros = ops.zeros_like(z_mean)
        return [zeros, zeros]

    def decoder_params(self, z, inputs=None, training=False):
        """The likelihood's parameters of `p(x|z)`; `inputs` are model
        inputs that carry what else the decoder takes (a conditional
        model's labels), or None."""
        return self.decoder(self.decoder_inputs(z, inputs), training=training)

    def decoded_mean(self, params):
        """The mean of `p(x|z)` for the decoder's `params`, in the data's
        units (pixel values 0-255 for an 8-bit model), float32."""
        mean = self.likelihood.mean(params)
        if self.likelihood.pixel_values:
            return ops.cast(mean, "float32")  # In the data's units already.
        return self.to_data_units(mean)

    def sample_latents(
        self, num_samples, seed=None, temperature=1.0, sampler=None
    ):
        """Draws `num_samples` latent codes `z`, shape `(num_samples,) +
        latent_shape`, from `sampler` (when None, the attached sampler,
        else the prior); `seed` as `keras.random` takes it (a
        `SeedGenerator` inside a compiled function). Tensors in and out,
        with no checks: `sample` checks its arguments (and the sampler,
        with `checked_sampler`) before it calls this."""
        if sampler is None:
            sampler = self.sampler
        source = self.prior
        if sampler is not None:
            sampler.set_model(self)
            source = sampler
        if isinstance(temperature, (int, float)) and temperature == 1:
            return source.sample(num_samples, seed=seed)
        return source.sample(num_samples, seed=seed, temperature=temperature)

    # === The objective ===
    # `kl_loss` means the same under both objectives: the sum of the losses
    # the KL layers add (the beta-weighted KL, with free bits). Other
    # losses the layers add (weight regularizers) count in `loss` only.
    # Under the ELBO `loss = reconstruction_loss + kl_loss + others`; under
    # the IWAE bound `loss = bound + others`, and `kl_loss` is reported,
    # not optimized.

    def compute_loss_terms(self, inputs, training=False):
        """The loss terms of one batch, batch means in nats: a dict whose
        `"loss"` is minimized, and whose entries the metrics of the same
        names log (`"reconstruction_loss"`, `"kl_loss"`)."""
        inputs = self.dequantize(inputs)
        if self.num_importance_samples > 1:
            return self._importance_weighted_terms(inputs, training)
        encoder_inputs = self.encoder_inputs(inputs)
        z_mean, z_log_var, z = self.encoder(encoder_inputs, training=training)
        if not isinstance(self.prior, priors.StandardNormal):
            self._monte_carlo_kl([z_mean, z_log_var, z], self.kl_layers[0])
        params = self.decoder(self.decoder_inputs(z, inputs), training=training)
        nll = self.negative_log_likelihood(self.data_of(inputs), params)
        reconstruction_loss = ops.mean(nll)
        kl_loss, others = self._kl_and_other_losses()
        return {
            "loss": reconstruction_loss + kl_loss + others,
            "reconstruction_loss": reconstruction_loss,
            "kl_loss": kl_loss,
        }

    def compute_losses(self, inputs, training=False):
        """Returns `(loss, reconstruction_loss, kl_loss)` of one batch: batch
        means in nats (see the class docstring)."""
        terms = self.compute_loss_terms(inputs, training)
        return terms["loss"], terms["reconstruction_loss"], terms["kl_loss"]

    def _monte_carlo_kl(self, posterior, kl_layer, free_bits=0.0):
        """Adds, and returns per example, the Monte-Carlo KL estimate of
        `posterior = [mean, log_var, z]` against `prior`, weighted by the
        `beta` of `kl_layer` (whose closed form it replaces)."""
        return self.monte_carlo_kl(
            posterior,
            prior=self.prior,
            beta=kl_layer.beta_variable.value,
            free_bits=free_bits,
        )

    @property
    def dequantizes(self):
        """Whether `x` holds 8-bit values that a density models: they are
        then dequantized in the training and test steps (see
        `dequantize`)."""
        return (
            self._preprocessing_argument == preprocessing_module.PIXELS_8BIT
            and self.likelihood.continuous
        )

    def dequantize(self, inputs, noise=None):
        """`inputs` with `x + u`, `u ~ U[0, 1)` per value, where
        `dequantizes` (else unchanged).

        A density `p` over pixel values then bounds the probability of the
        8-bit image: `log P(x) >= E_u log p(x + u)` (Theis et al., 2016), so
        its negative log-likelihood is in the bits per dimension of the
        discrete likelihoods, with no correction (the data's units already
        have bins of width 1). `noise` is `u`, or None to draw it.
        """
        if not self.dequantizes:
            return inputs
        x = ops.cast(self.data_of(inputs), "float32")
        if noise is None:
            noise = keras.random.uniform(ops.shape(x), seed=self.seed_generator)
        return self.with_data(inputs, x + ops.cast(noise, "float32"))

    def negative_log_likelihood(self, x, params):
        """`-log p(x|z)` per example, of `x` in its own units."""
        if self.likelihood.pixel_values:
            # The likelihood models the pixel values themselves.
            return self.likelihood.negative_log_likelihood(x, params)
        nll = self.likelihood.negative_log_likelihood(
            self.to_model_units(x), params
        )
        if self.preprocessing is not None and self.likelihood.continuous:
            # The density of `x` is that of `u = x * scale + offset` times
            # |du/dx|.
            nll -= preprocessing_module.log_abs_jacobian(
                self.preprocessing, self.data_shape
            )
        return nll

    def _kl_and_other_losses(self):
        """The sums of the losses the KL layers added, and of the others."""
        kl_ids = {id(t) for layer in self._kl_loss_layers for t in layer.losses}
        losses = self.losses
        kl_loss = _sum_losses([t for t in losses if id(t) in kl_ids])
        others = _sum_losses([t for t in losses if id(t) not in kl_ids])
        return kl_loss, others

    def _importance_weighted_terms(self, inputs, training):
        k = self.num_importance_samples
        batch = ops.shape(self.data_of(inputs))[0]
        epsilon = backend.replica_normal(
            (k, batch) + self.latent_shape, None, self.seed_generator
        )
        log_w, log_px_z, terms = self._training_log_weights(
            inputs, epsilon, training
        )
        bound = ops.logsumexp(log_w, axis=0) - math.log(k)
        # The bound has its own KL: the KL layers' losses are reported.
        kl_loss, others = self._kl_and_other_losses()
        return {
            "loss": -ops.mean(bound) + others,
            "reconstruction_loss": -ops.mean(log_px_z),
            "kl_loss": kl_loss,
            **terms,
        }

    def _training_log_weights(self, inputs, epsilon, training):
        """`(log w, log p(x|z), terms)` of the IWAE objective, where `terms`
        is what else the model's loss terms log (nothing here). A prior
        other than the standard normal adds its Monte-Carlo KL at the first
        draw, reported as `kl_loss` as the closed form is."""
        log_w, log_px_z, posterior = self._log_weights_and_draws(
            inputs, epsilon, training, "float32"
        )
        if not isinstance(self.prior, priors.StandardNormal):
            z_mean, z_log_var, z = posterior
            self._monte_carlo_kl([z_mean, z_log_var, z[0]], self.kl_layers[0])
        return log_w, log_px_z, {}

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
        `log q(z|x)` are computed in `dtype` (float64 needs JAX's
        `jax_enable_x64` on JAX; a prior with weights computes `log p(z)`
        in float32). With `return_log_likelihood=True` it also returns
        `log p(x|z_k)`.
        """
        log_w, log_px_z, _ = self._log_weights_and_draws(
            inputs, epsilon, training, dtype
        )
        if return_log_likelihood:
            return log_w, log_px_z
        return log_w

    def _log_weights_and_draws(self, inputs, epsilon, training, dtype):
        """`(log w, log p(x|z), [z_mean, z_log_var, z])`, the posterior and
        the draws `z` of shape `(K, batch) + latent_shape` in `dtype`."""
        x = self.data_of(inputs)
        z_mean, z_log_var, _ = self.encoder(
            self.encoder_inputs(inputs), training=training
        )
        z_mean = ops.cast(z_mean, dtype)
        # Clipped to [-30, 20] as in `Sampling` and the KL layer.
        z_log_var = clip_log_variance(ops.cast(z_log_var, dtype))
        scale = ops.exp(0.5 * z_log_var)
        z = z_mean + scale * ops.cast(epsilon, dtype)
        event_ndims = len(self.latent_shape)
        k = ops.shape(z)[0]
        flat_z = ops.reshape(z, (-1,) + self.latent_shape)
        log_prior = ops.reshape(self._prior_log_prob(flat_z, dtype), (k, -1))
        log_ratio = log_prior - normal_log_prob(
            z, z_mean, z_log_var, event_ndims
        )
        params = self.decoder(
            self.decoder_inputs(ops.cast(flat_z, "float32"), inputs, k),
            training=training,
        )
        tiled_x = ops.tile(x, (k,) + (1,) * len(self.data_shape))
        log_px_z = -self.negative_log_likelihood(tiled_x, params)
        log_px_z = ops.reshape(ops.cast(log_px_z, dtype), (k, -1))
        return log_px_z + log_ratio, log_px_z, [z_mean, z_log_var, z]

    def _prior_log_prob(self, z, dtype):
        """`prior.log_prob(z)` in `dtype`: the standard normal computes in
        it, a prior with weights in float32."""
        if isinstance(self.prior, priors.StandardNormal):
            return self.prior.log_prob(ops.cast(z, dtype))
        log_p = self.prior.log_prob(ops.cast(z, "float32"))
        return ops.cast(log_p, dtype)

    # === The training and test steps ===
    # Each backend's `train_step` (keras_vae/backend/<name>/trainer.py)
    # runs `step_inputs`, `apply_kl_warmup`, `compute_loss_terms` (under
    # its autodiff), `apply_update` and `update_metrics`; its `test_step`
    # the first, the third and the last.

    def step_inputs(self, data):
        """The model's inputs of one batch as `fit` passes it, refusing the
        labels and weights a VAE would ignore."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        check_labels_absent(y)
        check_sample_weight_absent(sample_weight)
        return x

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

    def apply_kl_warmup(self):
        """Sets every KL layer's `beta` for this step from the warm-up
        schedule (see `set_kl_warmup`), where one is set."""
        warmup = self.kl_warmup.value
        steps, start, target = (warmup[i] for i in range(3))
        step = ops.cast(self.optimizer.iterations.value, "float32")
        fraction = ops.minimum(1.0, step / ops.maximum(steps, 1.0))
        beta = start + (target - start) * fraction
        for layer in self.kl_layers:
            layer.beta_variable.assign(
                ops.where(steps > 0, beta, layer.beta_variable.value)
            )

    def apply_update(self, gradients):
        """Updates the weights with the gradients of `"loss"`; returns a
        dict of what `update_metrics` logs of the update (nothing here)."""
        if not self.trainable_weights:
            warnings.warn("The model does not have any trainable weights.")
            return {}
        self._optimizer_apply(gradients)
        return {}

    def update_metrics(self, inputs, terms, update=None):
        """Updates the metrics with one batch's loss `terms` (and the
        `update` of a training step) and returns the logs."""
        self._update_compiled_metrics(inputs)
        # Weighted by batch size, so the epoch value is the exact mean per
        # example even when the last batch is short.
        batch_size = ops.cast(ops.shape(self.data_of(inputs))[0], "float32")
        batch_size = batch_size * self._counted(terms, update)
        # A replica's share of a short last batch can be empty: its means
        # are NaN and must not reach the totals (NaN * 0 is NaN).
        values = {
            name: ops.where(batch_size > 0, value, 0.0)
            for name, value in terms.items()
        }
        if self._reports_bits_per_dim:
            # The loss (the negative ELBO, or the IWAE bound) per data
            # value, in bits.
            dims = math.prod(self.data_shape)
            values["bits_per_dim"] = values["loss"] / (dims * math.log(2))
        for tracker in self._trackers:
            tracker.update_state(values[tracker.name], sample_weight=batch_size)
        results = self._tracker_results(self._trackers)
        for metric in self._compiled_metrics():
            result = metric.result()
            results.update(
                result if isinstance(result, dict) else {metric.name: result}
            )
        return results

    def _counted(self, terms, update):
        """1 for a batch the epoch's means count, 0 for one they leave out
        (see `HierarchicalVAE`, whose guard can skip a step)."""
        return 1.0

    def _update_compiled_metrics(self, inputs):
        # The metrics given to `compile` compare `x` with what `predict`
        # returns: the deterministic reconstruction.
        if self._compiled_metrics():
            reconstruction = self(inputs, training=False)
            x = ops.cast(self.data_of(inputs), "float32")
            self.compute_metrics(inputs, x, reconstruction)

    def _compiled_metrics(self):
        return self.metrics[len(self._trackers) :]

    # === Keras's everyday calls ===
    # `compile` refuses a `loss` and fills in the backend's defaults for
    # `steps_per_execution` and `jit_compile` only where the user gave none
    # (and saves what the user gave); `fit`, `evaluate` and `predict` check
    # their data, refuse labels and weights a VAE would ignore, and run as
    # many steps per execution as keep every callback exact.

    def compile(
        self,
        optimizer="rmsprop",
        *args,
        steps_per_execution=None,
        jit_compile=None,
        **kwargs,
    ):
        self._check_backend_runs(jit_compile)
        # What the user asked for; `None` where our defaults apply.
        self._compile_arguments = {
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
        }
        if steps_per_execution is None:
            steps_per_execution = self._default_steps_per_execution()
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
        config = keras.saving.deserialize_keras_object(config)
        try:
            self._check_backend_runs(config.get("jit_compile"))
        except ValueError as error:
            # Saved on a backend that runs it (say, XLA on JAX): this one
            # takes its default, as for a model saved without a choice. A
            # strategy this backend lacks fails again in `compile`.
            warnings.warn(
                f"The model was saved with `jit_compile` this backend cannot "
                f"run; it takes the backend's default instead. {error}"
            )
            config["jit_compile"] = None
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, x=None, y=None, *args, **kwargs):
        # Keras drops `sample_weight` from the batches when `y` is None, so
        # `step_inputs` never sees it: check it here.
        check_sample_weight_absent(kwargs.get("sample_weight"))
        arguments = fit_arguments(args, kwargs)
        check_fit_arguments(arguments)
        _check_class_weight_absent(arguments.get("class_weight"))
        x = _single_input(x)
        self._check_inputs(x, y, arguments.get("validation_data"))
        callbacks = self._fit_callbacks(arguments.get("callbacks"))
        callbacks = with_terminate_on_nan(callbacks)
        callbacks = _with_progbar(callbacks, arguments.get("verbose", "auto"))
        arguments["callbacks"] = callbacks
        # Keras gets the user's `x`, as for any Keras model (MLflow's
        # autologging wraps `keras.Model.fit` and logs it); the backend may
        # change how Keras feeds it (`_fit_data`).
        with (
            self._fit_data(x, y, arguments),
            self._steps_per_execution_of(
                callbacks,
                arguments.get("steps_per_epoch"),
                arguments.get("validation_steps"),
            ),
        ):
            return super().fit(x, y, **arguments)

    def _fit_callbacks(self, callbacks):
        """The callbacks `fit` runs with, before keras-vae's own are added:
        `callbacks` as given here."""
        return callbacks

    def evaluate(self, x=None, y=None, *args, **kwargs):
        if kwargs.get("_use_cached_eval_dataset"):
            # The validation of `fit`, whose data and callbacks `fit` set.
            return super().evaluate(x, y, *args, **kwargs)
        check_sample_weight_absent(kwargs.get("sample_weight"))
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
        check_sample_weight_absent(sample_weight)
        x = _single_input(x)
        self._check_inputs(x, y)
        return super().train_on_batch(x, y, **kwargs)

    def test_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        check_sample_weight_absent(sample_weight)
        x = _single_input(x)
        self._check_inputs(x, y)
        return super().test_on_batch(x, y, **kwargs)

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
        """Checks the data given to `fit`, `evaluate` and `*_on_batch`."""
        check_labels_absent(y)
        self.data_checks.check_inputs(x, self.data_shape, "x")
        if validation_data is not None:
            val_x, val_y, val_weight = keras.utils.unpack_x_y_sample_weight(
                validation_data
            )
            check_sample_weight_absent(val_weight)
            check_labels_absent(val_y, "validation_data labels")
            self.data_checks.check_inputs(
                val_x, self.data_shape, "validation_data"
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
        # A `FunctionPerSteps` (as `backend.Trainer` makes them) keeps the
        # function it compiled for each number, and calls the one for this
        # number: switching on every `fit` with a per-batch callback
        # compiles nothing again. Any other function was built for one.
        for name in ("train_function", "test_function", "predict_function"):
            if not isinstance(getattr(self, name), FunctionPerSteps):
                setattr(self, name, None)


def check_sample_weight_absent(sample_weight):
    """Refuses `sample_weight`, which a VAE's loss cannot apply."""
    if sample_weight is not None:
        raise ValueError(
            "This VAE does not take `sample_weight`: its KL term is a "
            "batch mean added by a layer, so weights would apply to only "
            "half of the loss. Resample the data instead. "
            "Received: sample_weight"
        )


def _check_prior_outputs(prior, latent_shape):
    """Raises unless `prior` gives one log-density per example and draws of
    the latent shape (checked on two examples, as the VAE will use it)."""
    name = type(prior).__name__
    log_p = prior.log_prob(ops.zeros((2,) + tuple(latent_shape)))
    if tuple(ops.shape(log_p)) != (2,):
        raise ValueError(
            f"The prior's `log_prob(z)` must return one log-density per "
            f"example: for `z` of shape {(2,) + tuple(latent_shape)}, shape "
            f"(2,). Received: shape {tuple(ops.shape(log_p))} from "
            f"{name}.log_prob"
        )
    draws = prior.sample(2, seed=0)
    if tuple(ops.shape(draws)) != (2,) + tuple(latent_shape):
        raise ValueError(
            f"The prior's `sample(num_samples)` must return draws of shape "
            f"(num_samples,) + latent_shape: for 2 samples, "
            f"{(2,) + tuple(latent_shape)}. Received: shape "
            f"{tuple(ops.shape(draws))} from {name}.sample"
        )


def _sum_losses(losses):
    if not losses:
        return ops.convert_to_tensor(0.0, "float32")
    return ops.sum(ops.stack([ops.cast(t, "float32") for t in losses]))


def _single_input(x):
    """`x` of a one-element list or tuple, as Keras reads the inputs of a
    model with one input."""
    if (
        isinstance(x, (list, tuple))
        and len(x) == 1
        and (isinstance(x[0], np.ndarray) or keras.ops.is_tensor(x[0]))
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
