"""Every misuse fails early with a `ValueError` that says what it got."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae
from keras_vae import VAE
from keras_vae.layers import Sampling


@pytest.fixture
def image_vae():
    vae = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), latent_dim=2, hidden_units=(8,)
    )
    vae.compile(optimizer="adam")
    return vae


# Each way data reaches the model, so every entry point is checked.
ENTRY_POINTS = {
    "fit": lambda vae, x: vae.fit(x, epochs=1, verbose=0),
    "evaluate": lambda vae, x: vae.evaluate(x, verbose=0),
    "validation_data": lambda vae, x: vae.fit(
        np.full((4, 28, 28, 1), 0.5, "float32"),
        validation_data=x,
        epochs=1,
        verbose=0,
    ),
    "encode": lambda vae, x: vae.encode(x),
    "reconstruct": lambda vae, x: vae.reconstruct(x),
}


def bad_arrays():
    rng = np.random.default_rng(0)
    good = rng.uniform(size=(8, 28, 28, 1)).astype("float32")
    with_nan = good.copy()
    with_nan[3, 4, 5, 0] = np.nan
    with_inf = good.copy()
    with_inf[0, 0, 0, 0] = np.inf
    return {
        "no_channel_axis": (good[..., 0], r"channel axis.*Received"),
        "uint8": ((good * 255).astype("uint8"), r"/ 255.*Received"),
        "above_one": (good * 2.0, r"\[0, 1\].*Received: min="),
        "negative": (good - 0.5, r"\[0, 1\].*Received: min="),
        "nan": (with_nan, r"holds 1 NaN or infinite.*Received"),
        "inf": (with_inf, r"holds 1 NaN or infinite.*Received"),
        "empty": (good[:0], r"empty.*Received"),
        "wrong_size": (good[:, :27], r"\(28, 28, 1\).*Received"),
    }


BAD_ARRAYS = bad_arrays()


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("case", sorted(BAD_ARRAYS))
def test_bad_arrays_raise(image_vae, entry_point, case):
    x, message = BAD_ARRAYS[case]
    with pytest.raises(ValueError, match=message):
        ENTRY_POINTS[entry_point](image_vae, x)


def test_no_channel_axis_message_suggests_the_fix(image_vae):
    x = np.zeros((4, 28, 28), "float32")
    with pytest.raises(ValueError) as info:
        image_vae.fit(x, verbose=0)
    message = str(info.value)
    assert "x[..., None]" in message
    assert "Received: x.shape=(4, 28, 28)" in message


def test_gaussian_vae_accepts_what_bernoulli_rejects(image_vae):
    vae = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1),
        latent_dim=2,
        hidden_units=(8,),
        likelihood="gaussian",
    )
    vae.compile(optimizer="adam")
    x = np.linspace(-3, 3, 4 * 784).reshape(4, 28, 28, 1)
    with pytest.raises(ValueError, match="Received"):
        image_vae.fit(x, verbose=0)
    assert np.isfinite(vae.fit(x, verbose=0).history["loss"][0])


def test_empty_dataset_raises(image_vae):
    dataset = tf.data.Dataset.from_tensor_slices(
        np.zeros((0, 28, 28, 1), "float32")
    ).batch(4)
    with pytest.raises(ValueError, match="empty.*Received"):
        image_vae.fit(dataset, verbose=0)


def test_integer_dataset_under_bernoulli_raises(image_vae):
    dataset = tf.data.Dataset.from_tensor_slices(
        np.zeros((8, 28, 28, 1), "uint8")
    ).batch(4)
    with pytest.raises(ValueError, match="Received: x.dtype=uint8"):
        image_vae.fit(dataset, verbose=0)


def test_dataset_of_the_wrong_shape_raises(image_vae):
    dataset = tf.data.Dataset.from_tensor_slices(
        np.zeros((8, 28, 28), "float32")
    ).batch(4)
    with pytest.raises(ValueError, match="channel axis.*Received"):
        image_vae.fit(dataset, verbose=0)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"latent_dim": 0}, "latent_dim"),
        ({"latent_dim": 2.0}, "latent_dim"),
        ({"hidden_units": (-1,)}, "hidden_units"),
        ({"hidden_units": (16, 0)}, "hidden_units"),
        ({"input_shape": ()}, "input_shape"),
        ({"input_shape": (28, -28)}, "input_shape"),
    ],
)
def test_build_mlp_vae_invalid_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"Received: {argument}="):
        keras_vae.build_mlp_vae(**kwargs)


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"input_shape": (0, 5, 3)}, "input_shape"),
        ({"input_shape": (28, 28)}, "input_shape"),
        ({"filters": ()}, "filters"),
        ({"latent_dim": -3}, "latent_dim"),
    ],
)
def test_build_conv_vae_invalid_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"Received: {argument}="):
        keras_vae.build_conv_vae(**kwargs)


def test_encoder_without_kl_layer_raises():
    x = keras.Input((8,))
    z_mean = keras.layers.Dense(2)(x)
    z_log_var = keras.layers.Dense(2)(x)
    z = Sampling()([z_mean, z_log_var])
    encoder = keras.Model(x, [z_mean, z_log_var, z])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8)])
    with pytest.raises(ValueError, match="KLDivergenceLayer.*Received"):
        VAE(encoder, decoder)


def test_decoder_of_the_wrong_output_shape_raises(tiny_vae):
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(9)])
    with pytest.raises(ValueError, match="Received: decoder.output_shape="):
        VAE(tiny_vae.encoder, decoder)


def test_decoder_of_the_wrong_input_shape_raises(tiny_vae):
    decoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8)])
    with pytest.raises(ValueError, match="Received: decoder.input_shape="):
        VAE(tiny_vae.encoder, decoder)


def test_encoder_with_two_outputs_raises(tiny_vae):
    encoder = keras.Model(tiny_vae.encoder.inputs, tiny_vae.encoder.outputs[:2])
    with pytest.raises(ValueError, match="Received: an encoder with 2"):
        VAE(encoder, tiny_vae.decoder)


def test_unbuilt_submodel_raises(tiny_vae):
    with pytest.raises(ValueError, match="Received: decoder="):
        VAE(tiny_vae.encoder, keras.Sequential([keras.layers.Dense(8)]))


@pytest.mark.parametrize("num_samples", [0, -1, 2.5, "3", True, None])
def test_sample_invalid_count_raises(tiny_vae, num_samples):
    with pytest.raises(ValueError, match="Received: num_samples="):
        tiny_vae.sample(num_samples)


def test_sample_weight_raises(tiny_vae, vectors):
    tiny_vae.compile(optimizer="adam")
    weights = np.ones(len(vectors))
    message = "does not take `sample_weight`.*Received"
    with pytest.raises(ValueError, match=message):
        tiny_vae.fit(vectors, sample_weight=weights, verbose=0)
    with pytest.raises(ValueError, match=message):
        tiny_vae.evaluate(vectors, sample_weight=weights, verbose=0)
    with pytest.raises(ValueError, match=message):
        tiny_vae.fit(
            vectors, validation_data=(vectors, None, weights), verbose=0
        )
