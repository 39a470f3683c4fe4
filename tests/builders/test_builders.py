"""`build_mlp_vae` and `build_conv_vae`: structure, sizes, and a step."""

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.layers import KLDivergenceLayer
from keras_vae.layers import Sampling


def count_layers(model, layer_cls):
    return sum(isinstance(layer, layer_cls) for layer in model.layers)


def check_structure(vae, input_shape, latent_dim):
    assert len(vae.encoder.outputs) == 3
    for output in vae.encoder.outputs:
        assert tuple(output.shape) == (None, latent_dim)
    assert count_layers(vae.encoder, KLDivergenceLayer) == 1
    assert count_layers(vae.encoder, Sampling) == 1
    assert tuple(vae.decoder.input_shape) == (None, latent_dim)
    assert tuple(vae.decoder.output_shape) == (None,) + input_shape
    assert vae.data_shape == input_shape
    assert vae.latent_shape == (latent_dim,)


def n_params(weights):
    return sum(int(np.prod(w.shape)) for w in weights)


@pytest.mark.parametrize("input_shape", [(784,), (28, 28, 1), (8, 8, 3)])
def test_mlp_structure(input_shape):
    vae = keras_vae.build_mlp_vae(
        input_shape=input_shape, latent_dim=5, hidden_units=(16, 8)
    )
    check_structure(vae, input_shape, latent_dim=5)
    x = np.full((2,) + input_shape, 0.5, "float32")
    assert vae.reconstruct(x).shape == x.shape


def test_mlp_784_400_20_parameter_count():
    vae = keras_vae.build_mlp_vae(input_shape=(784,))
    encoder = 784 * 400 + 400 + 2 * (400 * 20 + 20)
    decoder = 20 * 400 + 400 + 400 * 784 + 784
    assert n_params(vae.encoder.trainable_weights) == encoder == 330_040
    assert n_params(vae.decoder.trainable_weights) == decoder == 322_784
    assert n_params(vae.trainable_weights) == encoder + decoder
    # The only other weights: the KL warm-up schedule and the KL layer's
    # scalar beta.
    assert sorted(w.name for w in vae.non_trainable_weights) == [
        "beta",
        "kl_warmup",
    ]


def test_mlp_defaults_are_the_kingma_welling_model():
    vae = keras_vae.build_mlp_vae()
    check_structure(vae, (28, 28, 1), latent_dim=20)
    assert n_params(vae.trainable_weights) == 330_040 + 322_784
    assert [layer.beta for layer in vae.kl_layers] == [1.0]


def test_mlp_without_hidden_layers_is_linear():
    vae = keras_vae.build_mlp_vae(
        input_shape=(6,), latent_dim=2, hidden_units=()
    )
    # Two linear heads 6 -> 2 and one linear decoder 2 -> 6.
    assert n_params(vae.trainable_weights) == 2 * (6 * 2 + 2) + 2 * 6 + 6


def test_mlp_passes_beta_seed_and_likelihood():
    vae = keras_vae.build_mlp_vae(
        input_shape=(4,),
        latent_dim=2,
        hidden_units=(3,),
        likelihood="gaussian",
        beta=0.5,
        seed=9,
    )
    assert [layer.beta for layer in vae.kl_layers] == [0.5]
    (sampling,) = [
        layer for layer in vae.encoder.layers if isinstance(layer, Sampling)
    ]
    assert sampling.seed == 9
    assert isinstance(vae.likelihood, keras_vae.likelihoods.Gaussian)


def test_conv_structure_parameters_and_one_step(images):
    vae = keras_vae.build_conv_vae(input_shape=(28, 28, 1), latent_dim=4)
    check_structure(vae, (28, 28, 1), latent_dim=4)
    conv = 3 * 3 * 1 * 32 + 32 + 3 * 3 * 32 * 64 + 64
    dense = 7 * 7 * 64 * 256 + 256
    heads = 2 * (256 * 4 + 4)
    assert n_params(vae.encoder.trainable_weights) == conv + dense + heads
    deconv = 3 * 3 * 64 * 64 + 64 + 3 * 3 * 64 * 32 + 32
    decoder = (
        4 * 256
        + 256
        + 256 * 7 * 7 * 64
        + 7 * 7 * 64
        + deconv
        + 3 * 3 * 32 * 1
        + 1
    )
    assert n_params(vae.decoder.trainable_weights) == decoder
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = [w.numpy().copy() for w in vae.trainable_weights]
    history = vae.fit(images[:16], batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    # Every weight got a gradient and moved.
    for old, new in zip(before, vae.trainable_weights):
        assert not np.array_equal(old, new.numpy()), new.path


def test_conv_on_rgb_images():
    vae = keras_vae.build_conv_vae(
        input_shape=(16, 8, 3), latent_dim=3, filters=(4,), hidden_units=()
    )
    check_structure(vae, (16, 8, 3), latent_dim=3)
    x = np.full((2, 16, 8, 3), 0.5, "float32")
    assert vae.reconstruct(x).shape == x.shape


@pytest.mark.parametrize(
    "builder",
    [
        keras_vae.build_conv_vae,
        keras_vae.build_resnet_vae,
        keras_vae.build_hierarchical_vae,
    ],
)
def test_image_builders_name_the_channel_axis_for_a_2d_shape(builder):
    # keras.datasets.mnist gives (n, 28, 28): the error says what to pass.
    with pytest.raises(ValueError, match=r"input_shape=\(28, 28, 1\)") as info:
        builder(input_shape=(28, 28))
    assert "Received: input_shape=(28, 28)" in str(info.value)
