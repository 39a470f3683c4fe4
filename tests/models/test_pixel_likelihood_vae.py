"""A VAE whose likelihood is the discretized logistic mixture: it takes the
8-bit pixel values, trains with `fit`, reports bits per dimension, decodes
pixel values, and keeps working through `.keras`, SavedModel and TFLite."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from shared_data import extract_cifar
from shared_data import needs_cifar

import keras_vae
from keras_vae.datasets import image_folder
from keras_vae.export import export_saved_model
from keras_vae.export import export_tflite_decoder

SHAPE = (32, 32, 3)
DIMS = math.prod(SHAPE)


def mixture_vae(likelihood, latent_dim=8):
    """A small conv VAE whose decoder emits the likelihood's parameters."""
    x = keras.Input(SHAPE)
    # The VAE rescales the pixel values for the encoder ("8bit").
    h = keras.layers.Conv2D(
        16, 3, strides=2, padding="same", activation="relu"
    )(x)
    h = keras.layers.Flatten()(h)
    z_mean = keras.layers.Dense(latent_dim)(h)
    z_log_var = keras.layers.Dense(latent_dim)(h)
    z_mean, z_log_var = keras_vae.layers.KLDivergenceLayer()(
        [z_mean, z_log_var]
    )
    z = keras_vae.layers.Sampling(seed=0)([z_mean, z_log_var])
    encoder = keras.Model(x, [z_mean, z_log_var, z])
    z_in = keras.Input((latent_dim,))
    h = keras.layers.Dense(16 * 16 * 16, activation="relu")(z_in)
    h = keras.layers.Reshape((16, 16, 16))(h)
    h = keras.layers.Conv2DTranspose(
        16, 3, strides=2, padding="same", activation="relu"
    )(h)
    params = keras.layers.Conv2D(
        likelihood.output_channels(3), 3, padding="same"
    )(h)
    decoder = keras.Model(z_in, params)
    return keras_vae.VAE(encoder, decoder, likelihood=likelihood)


@pytest.fixture(scope="module")
def cifar(tmp_path_factory):
    folder = extract_cifar(
        tmp_path_factory.mktemp("cifar"), "train", ["cat", "ship"], 128
    )
    dataset = image_folder(folder, image_size=(32, 32), labels=None, seed=0)
    return np.concatenate(list(dataset.as_numpy_iterator()))


@pytest.fixture(scope="module")
def trained(cifar):
    keras.utils.set_random_seed(0)
    vae = mixture_vae(keras_vae.likelihoods.get("discretized_logistic_mixture"))
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = vae.fit(cifar, epochs=6, batch_size=32, verbose=0)
    return vae, history.history


@needs_cifar
def test_it_trains_on_pixel_values_and_reports_bits_per_dim(cifar, trained):
    vae, history = trained
    assert vae.input_dtype == "uint8"
    assert vae.decoder.output_shape == (None, 32, 32, 100)
    bits = np.array(history["bits_per_dim"])
    np.testing.assert_allclose(
        bits, np.array(history["loss"]) / (DIMS * math.log(2)), rtol=1e-5
    )
    # Better than the 8 bits of a uniform guess, and improving: seeded runs
    # end near 7.0 (6.9-7.05, thread scheduling moves the last digits), from
    # about 8.9 in the first epoch.
    assert bits[-1] < bits[0] - 1.0 and bits[-1] < 7.5
    logs = vae.evaluate(cifar, verbose=0, return_dict=True)
    # The likelihood models the pixel values: its own NLL on the batch.
    x = cifar[:16]
    z_mean, _ = vae.encode(x)
    params = vae.decoder(z_mean)
    nll = vae.likelihood.negative_log_likelihood(x, params)
    assert float(keras.ops.mean(nll)) / (DIMS * math.log(2)) < 8.0
    assert logs["bits_per_dim"] == pytest.approx(
        logs["loss"] / (DIMS * math.log(2)), rel=1e-5
    )


@needs_cifar
def test_decoded_values_are_pixel_values(cifar, trained):
    vae, _ = trained
    reconstruction = vae.reconstruct(cifar[:8])
    assert reconstruction.shape == (8,) + SHAPE
    assert reconstruction.min() >= 0 and reconstruction.max() <= 255
    z_mean, _ = vae.encode(cifar[:8])
    mean = vae.likelihood.mean(vae.decoder(z_mean))
    np.testing.assert_allclose(
        reconstruction,
        keras.ops.convert_to_numpy(mean),
        rtol=1e-5,
        atol=1e-3,
    )
    # They follow the images: brighter images, brighter reconstructions.
    x = cifar[:64]
    brightness = x.reshape(64, -1).mean(axis=1)
    decoded = vae.reconstruct(x).reshape(64, -1).mean(axis=1)
    assert np.corrcoef(brightness, decoded)[0, 1] > 0.5


@needs_cifar
def test_log_likelihood_is_a_bound_tighter_than_the_elbo(cifar, trained):
    vae, _ = trained
    x = cifar[:8]
    iwae = keras_vae.evaluation.log_likelihood(
        vae, x, num_samples=64, seed=0, verbose=0
    )
    elbo = keras_vae.evaluation.log_likelihood(
        vae, x, num_samples=1, seed=0, verbose=0
    )
    bits = keras_vae.evaluation.bits_per_dim(-iwae, vae)
    assert np.all(np.isfinite(bits)) and np.all(bits < 8.0)
    assert iwae.mean() > elbo.mean()


@needs_cifar
@pytest.mark.tensorflow_only  # The SavedModel and TFLite exports.
def test_keras_file_savedmodel_and_tflite(cifar, trained, tmp_path):
    vae, _ = trained
    vae.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        again.reconstruct(cifar[:4]), vae.reconstruct(cifar[:4]), rtol=1e-5
    )
    path = export_saved_model(vae, tmp_path / "serving", score_samples=4)
    served = tf.saved_model.load(path)
    out = served.signatures["reconstruct"](x=tf.constant(cifar[:4]))
    np.testing.assert_allclose(
        out["reconstruction"], vae.reconstruct(cifar[:4]), atol=1e-3
    )
    z = np.random.default_rng(0).normal(size=(3, 8)).astype("float32")
    decoded = served.signatures["decode"](z=tf.constant(z))["x_mean"]
    np.testing.assert_allclose(decoded, vae.decode(z), atol=1e-3)

    from ai_edge_litert.interpreter import Interpreter

    tflite = export_tflite_decoder(vae, tmp_path / "decoder.tflite")
    interpreter = Interpreter(model_path=str(tflite))
    runner = interpreter.get_signature_runner()
    np.testing.assert_allclose(runner(z=z)["x_mean"], vae.decode(z), atol=1e-2)


def test_one_component_trains_too():
    likelihood = keras_vae.likelihoods.get("discretized_logistic")
    vae = mixture_vae(likelihood)
    assert vae.decoder.output_shape == (None, 32, 32, 9)
    rng = np.random.default_rng(0)
    x = rng.integers(100, 156, size=(64,) + SHAPE).astype("uint8")
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = vae.fit(x, epochs=3, batch_size=32, verbose=0).history
    assert history["bits_per_dim"][-1] < history["bits_per_dim"][0]


@pytest.mark.parametrize("likelihood", ["discretized_logistic", "bernoulli"])
def test_images_rescaled_to_unit_range_get_a_clear_error(likelihood):
    # An 8-bit model given x / 255 would read near-black images; a pixel
    # likelihood also refuses values between its 256 levels.
    vae = keras_vae.build_conv_vae(
        (8, 8, 3),
        latent_dim=2,
        filters=(4,),
        hidden_units=(8,),
        likelihood=likelihood,
        preprocessing="8bit",
    )
    vae.compile(optimizer="adam")
    x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), "uint8")
    with pytest.raises(ValueError, match=r"rescaled to \[0, 1\]"):
        vae.fit(x / 255.0, epochs=1, verbose=0)
    if likelihood == "discretized_logistic":
        with pytest.raises(ValueError, match="between levels"):
            vae.fit(np.minimum(x, 254) + 0.5, epochs=1, verbose=0)
    vae.fit(x, epochs=1, verbose=0)  # The values themselves train.
