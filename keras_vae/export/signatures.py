"""The serving functions of `export_saved_model`, and their warm-up
requests."""

import keras
import numpy as np
import tensorflow as tf

from keras_vae.datasets.image_decoding import decode_and_resize
from keras_vae.evaluation.fixed_noise import fixed_noise_scores
from keras_vae.models.conditional_vae import ConditionalVAE

#: The signatures of every exported SavedModel.
SIGNATURES = (
    "serving_default",
    "reconstruct",
    "encode",
    "decode",
    "sample",
    "score",
)
#: Those of 8-bit image models, on encoded image files.
BYTES_SIGNATURES = ("encode_bytes", "reconstruct_bytes", "score_bytes")
#: The accepted values of `resize`, as for `datasets.image_folder`.
RESIZE_MODES = ("crop", "pad")


def signature_names(vae):
    """The names of the signatures a SavedModel of `vae` has."""
    names = SIGNATURES
    if takes_image_bytes(vae):
        names += BYTES_SIGNATURES
    return names


def takes_image_bytes(vae):
    """Whether `vae` models 8-bit images that `image_folder` can produce:
    uint8 data of shape `(height, width, 1 or 3)`."""
    shape = vae.data_shape
    return (
        vae.input_dtype == "uint8" and len(shape) == 3 and shape[-1] in (1, 3)
    )


def serving_archive(vae, resize="crop", epsilon=None, sampler=None):
    """Returns a `keras.export.ExportArchive` with the serving functions as
    its endpoints, one per signature.

    The archive tracks only the model's `tf.Variable`s, not the Keras
    objects, so the SavedModel's object graph holds nothing that needs
    Keras.

    Args:
        vae: A built `keras_vae.VAE` or `keras_vae.ConditionalVAE`.
        resize: How the `_bytes` signatures fit an image to the model's
            size, as `image_folder`'s `resize`.
        epsilon: The fixed noise of the `score` signatures, shape
            `(K,) + vae.latent_shape` (`scores.score_noise`); needed if
            `vae` has them.
        sampler: The `keras_vae.samplers.Sampler` that `sample` draws the
            latent `vae.prior` models from, or None: the model's attached
            sampler, else its prior (as `vae.sample`). Not checked here
            (`vae.checked_sampler` checks it).
    """
    functions = _Functions(vae, resize, epsilon, sampler)
    archive = keras.export.ExportArchive()
    # All of `variables`, not only `weights`: with the seed generators'
    # states, which `score` reads (through the encoder's unused sampling).
    archive.track(vae)
    if sampler is not None and sampler is not vae.sampler and sampler.built:
        # A sampler of the export only, not among the model's layers.
        archive.track(sampler)
    for name in signature_names(vae):
        # The archive wraps each in a `tf.function` of its signature.
        archive.add_endpoint(
            name,
            getattr(functions, name),
            input_signature=functions.input_signatures[name],
        )
    return archive


class _Functions:
    """The serving functions of the signatures, built for one model, and
    their `input_signatures`.

    They run the model's public tensor methods (`posterior_params`,
    `decoder_params`, `decoded_mean`, `sample_latents`, and
    `log_importance_weights` for `score`): inputs are in the data's units
    (`x` of dtype `vae.input_dtype`), and so are decoded outputs; every
    output is float32, under any dtype policy. A conditional model's
    functions also take `labels`, int32 class indices of shape `(batch,)`.
    """

    def __init__(self, vae, resize, epsilon, sampler=None):
        self.vae = vae
        self.resize = resize
        self.epsilon = epsilon
        self.sampler = sampler
        self.conditional = isinstance(vae, ConditionalVAE)
        # The noise of `sample`: its state is the request's seed, mapped in
        # a stateless scope, so concurrent requests share nothing.
        self.seed_generator = keras.random.SeedGenerator(0)
        x = tf.TensorSpec((None,) + vae.data_shape, vae.input_dtype, name="x")
        z = tf.TensorSpec((None,) + vae.latent_shape, tf.float32, name="z")
        image_bytes = tf.TensorSpec((None,), tf.string, name="image_bytes")
        labels = tf.TensorSpec((None,), tf.int32, name="labels")
        sample = [
            tf.TensorSpec((), tf.int32, name="num_samples"),
            tf.TensorSpec((), tf.int64, name="seed"),
        ]
        extra = [labels] if self.conditional else []
        self.input_signatures = {
            name: specs + extra
            for name, specs in (
                ("serving_default", [x]),
                ("reconstruct", [x]),
                ("encode", [x]),
                ("decode", [z]),
                ("sample", sample),
                ("score", [x]),
                ("encode_bytes", [image_bytes]),
                ("reconstruct_bytes", [image_bytes]),
                ("score_bytes", [image_bytes]),
            )
        }

    # === Signatures ===
    def serving_default(self, x, labels=None):
        return self.reconstruct(x, labels)

    def encode(self, x, labels=None):
        z_mean, z_log_var = self._encode_inputs(self._inputs(x, labels))
        return {"z_mean": z_mean, "z_log_var": z_log_var}

    def reconstruct(self, x, labels=None):
        inputs = self._inputs(x, labels)
        z_mean, _ = self._encode_inputs(inputs)
        return {"reconstruction": self._decode_inputs(z_mean, inputs)[1]}

    def decode(self, z, labels=None):
        inputs = self._inputs(None, labels, batch=tf.shape(z)[0])
        params, x_mean = self._decode_inputs(z, inputs)
        outputs = {"x_mean": x_mean}
        if self.vae.likelihood.has_logits:
            outputs["logits"] = tf.cast(params, tf.float32)
        return outputs

    def sample(self, num_samples, seed, labels=None):
        # The draws of `vae.sample(num_samples, seed=seed, sampler=...)`:
        # the sampler's (or the prior's) `sample` with a generator whose
        # state is `[seed, 0]`.
        state = self.seed_generator.state
        seed = tf.cast(tf.stack([seed, tf.constant(0, tf.int64)]), state.dtype)
        with keras.StatelessScope(state_mapping=[(state, seed)]):
            z = self.vae.sample_latents(
                num_samples, self.seed_generator, sampler=self.sampler
            )
        if labels is not None:
            # One class for all the samples, or one per sample.
            size = tf.size(labels)
            one_or_all = tf.debugging.Assert(
                tf.logical_or(size == 1, size == num_samples),
                ["`labels` must hold one class index, or one per sample"],
            )
            with tf.control_dependencies([one_or_all]):
                labels = tf.broadcast_to(labels, [num_samples])
        inputs = self._inputs(None, labels, batch=num_samples)
        return {"samples": self._decode_inputs(z, inputs)[1]}

    def score(self, x, labels=None):
        inputs = self._inputs(x, labels)
        epsilon = self.epsilon

        def score_one(example):
            # One example at a time: the same kernels on the same shapes for
            # every example, so its score never depends on the rest of the
            # batch (a batched matrix product need not round the same way).
            example = tf.nest.map_structure(lambda t: t[None], example)
            return fixed_noise_scores(self.vae, example, epsilon)[0]

        # One example after the other (a graph's default runs 10 side by
        # side): in one CI run the first of six examples scored 20 nats off
        # its value in every other run, which overlapping iterations are
        # the one plausible cause of (not reproduced on this machine).
        scores = tf.map_fn(
            score_one,
            inputs,
            fn_output_signature=tf.float64,
            parallel_iterations=1,
        )
        return {"nll": tf.cast(scores, tf.float32)}

    def encode_bytes(self, image_bytes, labels=None):
        return self.encode(self._images(image_bytes), labels)

    def reconstruct_bytes(self, image_bytes, labels=None):
        return self.reconstruct(self._images(image_bytes), labels)

    def score_bytes(self, image_bytes, labels=None):
        return self.score(self._images(image_bytes), labels)

    # === Helpers ===
    def _inputs(self, x, labels, batch=None):
        """The model's inputs: `x`, or `[x, one_hot_labels]`."""
        if not self.conditional:
            return x
        num_classes = self.vae.num_classes
        if batch is None:
            batch = tf.shape(x)[0]
        checks = [
            tf.debugging.assert_equal(
                tf.size(labels),
                batch,
                message="`labels` must hold one class index per example",
            ),
            tf.debugging.assert_non_negative(
                labels,
                message=f"`labels` must be class indices in [0, {num_classes})",
            ),
            tf.debugging.assert_less(
                labels,
                num_classes,
                message=f"`labels` must be class indices in [0, {num_classes})",
            ),
        ]
        with tf.control_dependencies(checks):
            return [x, tf.one_hot(labels, num_classes, dtype=tf.float32)]

    def _encode_inputs(self, inputs):
        # The KL layer calls `add_loss`; a stateless scope keeps the traced
        # loss tensor out of the model's eager `losses`.
        with keras.StatelessScope():
            z_mean, z_log_var = self.vae.posterior_params(inputs)
        return tf.cast(z_mean, tf.float32), tf.cast(z_log_var, tf.float32)

    def _decode_inputs(self, z, inputs):
        """The likelihood's parameters and its mean, in the data's units."""
        vae = self.vae
        with keras.StatelessScope():
            params = vae.decoder_params(z, inputs)
        return params, tf.cast(vae.decoded_mean(params), tf.float32)

    def _images(self, image_bytes):
        """uint8 images of the model's shape, decoded and resized exactly as
        `datasets.image_folder` does."""
        height, width, channels = self.vae.data_shape

        def decode(contents):
            # BMP files go through PIL in `image_folder`, which a SavedModel
            # cannot hold (TensorFlow misreads 8-bit palette BMPs).
            not_bmp = tf.debugging.Assert(
                tf.strings.substr(contents, 0, 2) != "BM",
                ["BMP files are not served: send JPEG, PNG or GIF files"],
            )
            with tf.control_dependencies([not_bmp]):
                contents = tf.identity(contents)
            return decode_and_resize(
                contents, (height, width), channels, self.resize
            )

        return tf.map_fn(
            decode,
            image_bytes,
            fn_output_signature=tf.TensorSpec(self.vae.data_shape, tf.uint8),
        )


def warmup_requests(vae):
    """A few small requests per signature, at batch sizes 1 and 8, with
    inputs of the dtypes the signatures take."""
    rng = np.random.default_rng(0)
    requests = []
    conditional = isinstance(vae, ConditionalVAE)
    for batch_size in (1, 8):
        # Uniform in the model's units, then in the data's.
        u = rng.uniform(size=(batch_size,) + vae.data_shape).astype("float32")
        z = rng.standard_normal((batch_size,) + vae.latent_shape)
        x = keras.ops.convert_to_numpy(vae.to_data_units(u))
        if vae.input_dtype == "uint8":
            x = np.clip(np.round(x), 0, 255)
        values = {
            "x": x.astype(vae.input_dtype),
            "z": z.astype("float32"),
            "num_samples": np.int32(batch_size),
            "seed": np.int64(batch_size),
        }
        if conditional:
            labels = rng.integers(0, vae.num_classes, size=batch_size)
            values["labels"] = labels.astype("int32")
        if takes_image_bytes(vae):
            values["image_bytes"] = np.array(
                [tf.io.encode_png(image).numpy() for image in values["x"]],
                dtype=object,
            )
        for name in signature_names(vae):
            keys = _INPUT_NAMES[name] + ["labels"] * conditional
            requests.append((name, {key: values[key] for key in keys}))
    return requests


_INPUT_NAMES = {
    "serving_default": ["x"],
    "reconstruct": ["x"],
    "encode": ["x"],
    "decode": ["z"],
    "sample": ["num_samples", "seed"],
    "score": ["x"],
    "encode_bytes": ["image_bytes"],
    "reconstruct_bytes": ["image_bytes"],
    "score_bytes": ["image_bytes"],
}
