import keras
import numpy as np
from keras import ops

from keras_vae.models import submodel_checks
from keras_vae.models.vae import VAE
from keras_vae.models.vae import check_sample_weight_absent
from keras_vae.utils.batches import in_batches
from keras_vae.utils.label_checks import check_class_labels


@keras.saving.register_keras_serializable(package="keras_vae")
class ConditionalVAE(VAE):
    """A VAE conditioned on a class label: `q(z|x, y)` and `p(x|z, y)`.

    The encoder maps `[x, y]` to `[z_mean, z_log_var, z]` and the decoder
    maps `[z, y]` to the likelihood's parameters, with `y` one-hot. It trains
    with `fit(x, y)` (or a dataset of `(x, y)`), where `y` holds class
    indices or one-hot rows, and generates a chosen class with
    `sample(n, labels=...)`. Losses are those of `keras_vae.VAE`.

    The model's inputs are `(x, y_one_hot)`: it overrides `data_of`,
    `with_data`, `encoder_inputs`, `decoder_inputs`, `model_inputs` and
    `step_inputs` of `keras_vae.VAE`'s extension API, and the array methods
    take `labels`.

    Args:
        encoder: A `keras.Model` from `[x, y_one_hot]` to
            `[z_mean, z_log_var, z]` that contains a `KLDivergenceLayer`.
        decoder: A `keras.Model` from `[z, y_one_hot]` to the likelihood's
            parameters, of the shape of `x`.
        likelihood: As for `keras_vae.VAE`.
        num_importance_samples: As for `keras_vae.VAE`.
        seed: As for `keras_vae.VAE`.
        preprocessing: As for `keras_vae.VAE`.
        prior: As for `keras_vae.VAE`: `p(z)`, the same for every class
            (a `VampPrior`, which encodes pseudo-inputs without labels,
            does not fit).
        **kwargs: Base model keyword arguments, such as `name`.

    Example:

    ```python
    (x_train, y_train), _ = keras_vae.datasets.load_mnist()
    cvae = keras_vae.build_mlp_vae(num_classes=10)
    cvae.compile(optimizer="adam")
    cvae.fit(x_train, y_train, epochs=10, batch_size=128)
    sevens = cvae.sample(16, labels=7)
    ```

    Reference:
        Sohn, Lee and Yan, "Learning Structured Output Representation using
        Deep Conditional Generative Models", NeurIPS 2015.
    """

    @property
    def num_classes(self):
        """The number of classes of the labels."""
        return int(self.encoder.inputs[1].shape[-1])

    def _check_submodels(self, encoder, decoder):
        submodel_checks.check_encoder_and_decoder(encoder, decoder, 2)
        classes = (encoder.inputs[1].shape[-1], decoder.inputs[1].shape[-1])
        if classes[0] != classes[1]:
            raise ValueError(
                "The encoder and decoder must take labels of the same size. "
                f"Received: {classes[0]} and {classes[1]} classes"
            )

    # === The model's inputs: `(x, y_one_hot)` ===

    def data_of(self, inputs):
        return inputs[0]

    def with_data(self, inputs, x):
        return (x, inputs[1])

    def encoder_inputs(self, inputs):
        # Both tensors: Keras refuses a mix of tensors and arrays.
        return [
            ops.convert_to_tensor(self.to_model_units(inputs[0])),
            ops.convert_to_tensor(inputs[1]),
        ]

    def decoder_inputs(self, z, inputs, repeats=1):
        labels = inputs[1]
        if not isinstance(repeats, int) or repeats != 1:
            labels = ops.tile(labels, (repeats, 1))
        return [z, labels]

    def model_inputs(self, x, labels=None):
        """`(x, y_one_hot)` for NumPy data `x` and its `labels` (class
        indices, one-hot rows, or one index for all), checked, float32."""
        if labels is None:
            raise ValueError(
                "This conditional VAE needs `labels`: the class of each "
                "example, as indices or one-hot rows (e.g. `labels=y_test`), "
                "or one index for all (`labels=3`). Received: labels=None"
            )
        x = self._as_float_array(x, "x")
        return x, self._one_hot(labels, len(x))

    def step_inputs(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            check_class_labels(None, self.num_classes, 0, "y")
        check_sample_weight_absent(sample_weight)
        if "int" in keras.backend.standardize_dtype(y.dtype) or (
            len(y.shape) == 1
        ):
            y = ops.one_hot(ops.cast(y, "int32"), self.num_classes)
        return x, ops.cast(y, "float32")

    def _check_inputs(self, x, y, validation_data=None):
        pairs = [(x, y, "x", "y")]
        if validation_data is not None:
            val_x, val_y, val_weight = keras.utils.unpack_x_y_sample_weight(
                validation_data
            )
            check_sample_weight_absent(val_weight)
            pairs.append((val_x, val_y, "validation_data", "validation labels"))
        for data, labels, name, labels_name in pairs:
            self.data_checks.check_inputs(
                data, self.data_shape, name, labels_allowed=True
            )
            if isinstance(data, (np.ndarray, list)) or ops.is_tensor(data):
                check_class_labels(
                    labels, self.num_classes, len(data), labels_name
                )

    def _one_hot(self, labels, num_examples):
        labels = np.asarray(labels)
        if labels.ndim == 0:
            labels = np.full((num_examples,), labels)
        return check_class_labels(
            labels, self.num_classes, num_examples, "labels"
        )

    # === Inference ===

    def encode(self, x, labels, batch_size=256):
        """Returns `(z_mean, z_log_var)` of `q(z|x, y)` as NumPy arrays."""
        inputs = self.model_inputs(x, labels)
        return tuple(in_batches(self.posterior_params, inputs, batch_size))

    def decode(self, z, labels, batch_size=256):
        """Returns the mean of `p(x|z, y)` as a NumPy array."""
        z = self._check_z(z)
        y = self._one_hot(labels, len(z))

        def decode_batch(batch):
            z, y = batch
            return [self.decoded_mean(self.decoder_params(z, (None, y)))]

        return in_batches(decode_batch, (z, y), batch_size)[0]

    def reconstruct(self, x, labels, batch_size=256):
        """Returns the mean of `p(x|z_mean, y)` as a NumPy array."""
        inputs = self.model_inputs(x, labels)
        return in_batches(lambda batch: [self(batch)], inputs, batch_size)[0]

    def sample(
        self, num_samples, labels, seed=None, temperature=1.0, sampler=None
    ):
        """Draws `z` and returns the mean of `p(x|z, y)` for the given
        `labels` (one class index for all, or one per sample); see
        `VAE.sample` for `temperature` and `sampler` (fitted with the
        training labels, `sampler.fit(cvae, x_train, labels=y_train)`: it
        models the codes of every class together, as the prior does)."""
        z = self._prior_sample(num_samples, seed, temperature, sampler)
        return self.decode(z, labels)
