"""Bits per dimension: logged by `fit` and `evaluate` for images, exact for
models whose likelihood is known, and comparable between likelihoods over
the 256 pixel values and densities over dequantized pixels."""

import math

import keras
import numpy as np
import pytest
from keras import ops

import keras_vae

SHAPE = (4, 5, 3)
DIMS = math.prod(SHAPE)


class UniformPixels(keras_vae.likelihoods.Gaussian):
    """Every one of the 256 values of a pixel equally likely: 8 bits."""

    pixel_values = True
    continuous = False

    def negative_log_likelihood(self, x, params):
        x = ops.reshape(ops.cast(x, "float32"), (ops.shape(x)[0], -1))
        params = ops.reshape(params, (ops.shape(params)[0], -1))
        zero = 0.0 * ops.sum(x, axis=-1) + 0.0 * ops.sum(params, axis=-1)
        return zero + DIMS * math.log(256)

    def mean(self, params):
        return 127.5 + 0.0 * ops.cast(params, "float32")


class UniformDensity(keras_vae.likelihoods.Gaussian):
    """The density uniform over `[0, 256 / 255)` in the model's units, which
    are pixel values `x / 255`: 1 / 256 per unit of a pixel value."""

    def negative_log_likelihood(self, u, params):
        u = ops.reshape(ops.cast(u, "float32"), (ops.shape(u)[0], -1))
        zero = 0.0 * ops.sum(u, axis=-1) + 0.0 * ops.sum(params)
        return zero - DIMS * math.log(255 / 256)


class FractionalPart(keras_vae.likelihoods.Gaussian):
    """A stand-in "density" whose negative log-likelihood is the summed
    fractional part of the pixel values it sees: 0 for 8-bit values, about
    1/2 a value once they are dequantized."""

    def negative_log_likelihood(self, u, params):
        x = ops.reshape(u * 255.0, (ops.shape(u)[0], -1))
        x = x + 0.0 * ops.reshape(params, (ops.shape(params)[0], -1))
        return ops.sum(x - ops.floor(x + 1e-3), axis=-1)


def zero_kl_vae(likelihood, preprocessing="8bit", shape=SHAPE):
    """A VAE whose posterior is the prior (zero weights: KL = 0) and whose
    decoder emits the likelihood's parameters."""
    x = keras.Input(shape)
    h = keras.layers.Flatten()(x)
    z_mean = keras.layers.Dense(2, kernel_initializer="zeros")(h)
    z_log_var = keras.layers.Dense(2, kernel_initializer="zeros")(h)
    z_mean, z_log_var = keras_vae.layers.KLDivergenceLayer()(
        [z_mean, z_log_var]
    )
    z = keras_vae.layers.Sampling(seed=0)([z_mean, z_log_var])
    encoder = keras.Model(x, [z_mean, z_log_var, z])
    channels = likelihood.output_channels(shape[-1])
    z_in = keras.Input((2,))
    params = keras.layers.Dense(math.prod(shape[:-1]) * channels)(z_in)
    params = keras.layers.Reshape(shape[:-1] + (channels,))(params)
    decoder = keras.Model(z_in, params)
    return keras_vae.VAE(
        encoder, decoder, likelihood=likelihood, preprocessing=preprocessing
    )


@pytest.fixture
def pixels():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(32,) + SHAPE).astype("uint8")


def test_uniform_pixel_likelihood_is_8_bits_per_dim(pixels):
    vae = zero_kl_vae(UniformPixels())
    vae.compile(optimizer="adam")
    logs = vae.evaluate(pixels, verbose=0, return_dict=True)
    assert logs["kl_loss"] == pytest.approx(0.0, abs=1e-6)
    assert logs["loss"] == pytest.approx(DIMS * math.log(256), rel=1e-6)
    assert logs["bits_per_dim"] == pytest.approx(8.0, rel=1e-6)
    log_px = keras_vae.evaluation.log_likelihood(
        vae, pixels, num_samples=3, seed=0, verbose=0
    )
    np.testing.assert_allclose(log_px, -DIMS * math.log(256), rtol=1e-6)
    bits = keras_vae.evaluation.bits_per_dim(-log_px, vae)
    np.testing.assert_allclose(bits, 8.0, rtol=1e-6)


def test_uniform_density_of_dequantized_pixels_is_8_bits_per_dim(pixels):
    # The Jacobian of the 8-bit rescaling makes the density one of pixel
    # values, whose bins have width 1: no correction for the 256 values.
    vae = zero_kl_vae(UniformDensity())
    vae.compile(optimizer="adam")
    logs = vae.evaluate(pixels, verbose=0, return_dict=True)
    assert logs["bits_per_dim"] == pytest.approx(8.0, rel=1e-6)
    log_px = keras_vae.evaluation.log_likelihood(
        vae, pixels, num_samples=2, seed=0, verbose=0
    )
    np.testing.assert_allclose(log_px, -DIMS * math.log(256), rtol=1e-6)


def test_densities_over_8bit_pixels_see_them_dequantized(pixels):
    vae = zero_kl_vae(FractionalPart(scale=1.0))
    vae.compile(optimizer="adam")
    # Uniform noise in [0, 1) per value: a fractional part of 1/2 on
    # average, over 32 * 60 values (standard error 0.0066); plus the 8-bit
    # rescaling's Jacobian, log 255 a value.
    expected = 0.5 + math.log(255)
    logs = vae.evaluate(pixels, verbose=0, return_dict=True)
    per_value = logs["reconstruction_loss"] / DIMS
    assert per_value == pytest.approx(expected, abs=0.03)
    history = vae.fit(pixels, epochs=1, verbose=0, batch_size=32)
    per_value = history.history["reconstruction_loss"][0] / DIMS
    assert per_value == pytest.approx(expected, abs=0.03)
    log_px = keras_vae.evaluation.log_likelihood(
        vae, pixels, num_samples=1, seed=0, verbose=0
    )
    assert -log_px.mean() / DIMS == pytest.approx(expected, abs=0.03)
    # Data already in the model's units are not 8-bit values: untouched.
    plain = zero_kl_vae(FractionalPart(scale=1.0), preprocessing=None)
    plain.compile(optimizer="adam")
    logs = plain.evaluate(
        pixels.astype("float32") / 255, verbose=0, return_dict=True
    )
    assert logs["reconstruction_loss"] == pytest.approx(0.0, abs=0.05)


def test_the_fixed_noise_score_of_a_density_takes_bin_centres(pixels):
    # The served `score` is deterministic: it evaluates a density over
    # 8-bit values at x + 1/2, a fractional part of exactly 1/2 a value
    # (the posterior is the prior here, so the weights are p(x|z) alone).
    from keras_vae.export import fixed_noise_scores
    from keras_vae.export import score_noise

    vae = zero_kl_vae(FractionalPart(scale=1.0))
    scores = fixed_noise_scores(vae, pixels, score_noise((2,), 4))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(scores),
        DIMS * (0.5 + math.log(255)),
        rtol=1e-4,
    )


def test_a_hierarchy_over_8bit_pixels_sees_them_dequantized(pixels):
    # The same for a `HierarchicalVAE`, whose loss path is its own: the
    # ELBO and the IWAE objective in `fit` and `evaluate`.
    expected = 0.5 + math.log(255)
    for k in (1, 3):
        vae = keras_vae.build_hierarchical_vae(
            SHAPE,
            latent_channels=((2,),),
            filters=(4,),
            likelihood=FractionalPart(scale=1.0),
            preprocessing="8bit",
            num_importance_samples=k,
            seed=0,
        )
        vae.compile(optimizer="adam")
        logs = vae.evaluate(pixels, verbose=0, return_dict=True)
        per_value = logs["reconstruction_loss"] / DIMS
        assert per_value == pytest.approx(expected, abs=0.03)
        history = vae.fit(pixels, epochs=1, verbose=0, batch_size=32)
        per_value = history.history["reconstruction_loss"][0] / DIMS
        assert per_value == pytest.approx(expected, abs=0.03)


def test_bits_per_dim_is_the_loss_in_bits_for_images_only(images, vectors):
    image_vae = keras_vae.build_mlp_vae((28, 28, 1), latent_dim=2, seed=0)
    image_vae.compile(optimizer="adam")
    history = image_vae.fit(
        images, validation_data=images, epochs=2, batch_size=16, verbose=0
    ).history
    for prefix in ("", "val_"):
        np.testing.assert_allclose(
            history[prefix + "bits_per_dim"],
            np.array(history[prefix + "loss"]) / (784 * math.log(2)),
            rtol=1e-5,
        )
    table_vae = keras_vae.build_mlp_vae((8,), latent_dim=2, seed=0)
    table_vae.compile(optimizer="adam")
    history = table_vae.fit(vectors, epochs=1, verbose=0).history
    assert sorted(history) == ["kl_loss", "loss", "reconstruction_loss"]


def test_decoder_must_emit_the_likelihoods_channels():
    class TwoPerChannel(keras_vae.likelihoods.Gaussian):
        def output_channels(self, data_channels):
            return 2 * data_channels

    vae = zero_kl_vae(TwoPerChannel(scale=1.0))
    assert vae.decoder.output_shape == (None, 4, 5, 6)
    with pytest.raises(ValueError, match=r"output shape \(4, 5, 6\).*"):
        keras_vae.VAE(
            vae.encoder,
            zero_kl_vae(UniformDensity()).decoder,
            likelihood=TwoPerChannel(scale=1.0),
        )


def test_pixel_likelihoods_take_8bit_values():
    assert zero_kl_vae(UniformPixels(), None).input_dtype == "uint8"
    normalization = keras.layers.Normalization(mean=0.0, variance=1.0)
    with pytest.raises(ValueError, match='preprocessing="8bit"'):
        zero_kl_vae(UniformPixels(), normalization)
