"""`build_conv_vae` on any height, width and channels: the decoder returns
the input's shape exactly, and 28x28x1 models are the ones built before."""

import math

import keras
import numpy as np
import pytest

import keras_vae

# The layers of `build_conv_vae((28, 28, 1))` as built before odd sizes were
# allowed (commit 45056d0): class and output shape, encoder then decoder.
MNIST_LAYERS = [
    ("InputLayer", (None, 28, 28, 1)),
    ("Conv2D", (None, 14, 14, 32)),
    ("Conv2D", (None, 7, 7, 64)),
    ("Flatten", (None, 3136)),
    ("Dense", (None, 256)),
    ("Dense", (None, 20)),
    ("Dense", (None, 20)),
    ("KLDivergenceLayer", [(None, 20), (None, 20)]),
    ("Sampling", (None, 20)),
    ("InputLayer", (None, 20)),
    ("Dense", (None, 256)),
    ("Dense", (None, 3136)),
    ("Reshape", (None, 7, 7, 64)),
    ("Conv2DTranspose", (None, 14, 14, 64)),
    ("Conv2DTranspose", (None, 28, 28, 32)),
    ("Conv2D", (None, 28, 28, 1)),
]


def layer_shapes(vae):
    return [
        (
            type(layer).__name__,
            keras.tree.map_structure(lambda t: tuple(t.shape), layer.output),
        )
        for model in (vae.encoder, vae.decoder)
        for layer in model.layers
    ]


def uniform(shape, n=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n,) + shape).astype("float32")


def small_conv_vae(input_shape, **kwargs):
    return keras_vae.build_conv_vae(
        input_shape=input_shape,
        latent_dim=3,
        filters=(8, 16),
        hidden_units=(32,),
        seed=0,
        **kwargs,
    )


def test_mnist_model_is_unchanged():
    vae = keras_vae.build_conv_vae(input_shape=(28, 28, 1))
    assert vae.count_params() == 1_699_181
    assert layer_shapes(vae) == MNIST_LAYERS
    for layer in vae.decoder.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            assert layer.get_config()["output_padding"] is None


@pytest.mark.parametrize(
    "input_shape, filters",
    [
        ((30, 30, 3), (32, 64)),
        ((100, 75, 1), (32, 64)),
        ((28, 28, 1), (32, 64)),
        ((27, 28, 4), (4, 4, 4)),
        ((7, 5, 2), (4, 4, 4, 4)),
        ((1, 1, 1), (4, 4)),
        ((1, 6, 3), (4,)),
    ],
)
def test_decoder_returns_the_input_shape(input_shape, filters):
    vae = keras_vae.build_conv_vae(
        input_shape=input_shape, latent_dim=2, filters=filters
    )
    assert vae.decoder.output_shape == (None,) + input_shape
    assert vae.data_shape == input_shape
    # Each stride halves the height and width, rounding up.
    height, width = input_shape[:2]
    stride = 2 ** len(filters)
    smallest = (math.ceil(height / stride), math.ceil(width / stride))
    (reshape,) = [
        layer
        for layer in vae.decoder.layers
        if isinstance(layer, keras.layers.Reshape)
    ]
    assert reshape.output.shape[1:3] == smallest
    x = uniform(input_shape, n=2)
    assert vae.reconstruct(x).shape == x.shape
    assert vae.decode(np.zeros((3, 2), "float32")).shape == (3,) + input_shape
    assert vae.sample(4, seed=1).shape == (4,) + input_shape


@pytest.mark.parametrize(
    "input_shape",
    [(0, 5, 3), (5, 0, 3), (5, 5, 0), (28, 28), (28, 28, 1, 1), (5, -1, 3)],
)
def test_an_empty_or_non_image_shape_is_refused(input_shape):
    received = f"Received: input_shape={input_shape!r}"
    with pytest.raises(ValueError, match=r"\(height, width, channels\)") as e:
        keras_vae.build_conv_vae(input_shape=input_shape)
    assert str(e.value).endswith(received)


def noisy_template(shape, n=64, seed=0):
    """`n` noisy copies of one random image in [0, 1]: a mean to learn at
    every pixel, edges included (pure noise leaves the Bernoulli loss at
    its log(2) floor)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=shape) + 0.1 * rng.normal(size=(n,) + shape)
    return np.clip(x, 0.0, 1.0).astype("float32")


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
@pytest.mark.parametrize("input_shape", [(30, 30, 3), (100, 75, 1)])
def test_trains_saves_and_loads(input_shape, likelihood, tmp_path):
    vae = small_conv_vae(input_shape, likelihood=likelihood)
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    x = noisy_template(input_shape)
    before = vae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    history = vae.fit(x, batch_size=8, epochs=1, verbose=0)
    after = vae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    losses = [before["loss"], history.history["loss"][0], after["loss"]]
    assert np.all(np.isfinite(losses))
    # 8 steps: measured 0.6% (Bernoulli, 30x30x3) to 12% lower.
    assert after["loss"] < 0.998 * before["loss"]

    assert vae.decoder.output_shape == (None,) + input_shape
    reconstruction = vae.reconstruct(x)
    assert reconstruction.shape == x.shape
    path = tmp_path / "vae.keras"
    vae.save(path)
    again = keras_vae.load_vae(path)
    assert again.decoder.output_shape == (None,) + input_shape
    np.testing.assert_array_equal(again.reconstruct(x), reconstruction)
    z = np.random.default_rng(1).normal(size=(5, 3)).astype("float32")
    np.testing.assert_array_equal(again.decode(z), vae.decode(z))
    assert again.sample(2, seed=3).shape == (2,) + input_shape


def test_kl_is_the_closed_form_at_an_odd_size():
    x = uniform((7, 5, 3), n=32)
    vae = small_conv_vae((7, 5, 3))
    _, _, kl_loss = vae.compute_losses(x)
    mean, log_var = (a.astype("float64") for a in vae.encode(x))
    kl = 0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var).sum(axis=1)
    np.testing.assert_allclose(
        float(keras.ops.convert_to_numpy(kl_loss)), kl.mean(), rtol=1e-5
    )


def zero_decoder_output(vae, bias=0.0):
    """Makes the decoder emit `bias` at every pixel, whatever `z`."""
    params = vae.decoder.get_layer("params")
    params.kernel.assign(np.zeros(params.kernel.shape))
    params.bias.assign(np.full(params.bias.shape, bias))


@pytest.mark.parametrize("input_shape", [(7, 5, 3), (30, 30, 1), (1, 1, 2)])
def test_bernoulli_loss_sums_exactly_the_image_pixels(input_shape):
    # Logits of 0 cost log(2) per term whatever x: the loss counts terms.
    x = uniform(input_shape, n=4)
    vae = small_conv_vae(input_shape)
    zero_decoder_output(vae)
    _, reconstruction_loss, _ = vae.compute_losses(x)
    terms = float(reconstruction_loss) / math.log(2.0)
    np.testing.assert_allclose(terms, math.prod(input_shape), rtol=1e-6)


def test_gaussian_loss_is_the_density_of_the_image_pixels():
    input_shape = (7, 5, 3)
    x = uniform(input_shape, n=4)
    vae = small_conv_vae(
        input_shape, likelihood=keras_vae.likelihoods.Gaussian(scale=1.0)
    )
    zero_decoder_output(vae, bias=0.25)
    _, reconstruction_loss, _ = vae.compute_losses(x)
    x64 = x.astype("float64")
    nll = 0.5 * (x64 - 0.25) ** 2 + 0.5 * math.log(2 * math.pi)
    assert nll[0].size == 7 * 5 * 3
    np.testing.assert_allclose(
        float(reconstruction_loss), nll.sum(axis=(1, 2, 3)).mean(), rtol=1e-5
    )


def test_loss_is_the_likelihood_of_the_decoder_output():
    # With the untrained decoder as built: the loss of one sampled z is
    # the likelihood's NLL of the decoder's (H, W, C) output, by hand.
    input_shape = (7, 5, 3)
    x = uniform(input_shape, n=4)
    vae = small_conv_vae(input_shape)
    sampling = vae.encoder.get_layer("z")
    state = sampling.seed_generator.state.numpy()
    _, reconstruction_loss, _ = vae.compute_losses(x)
    sampling.seed_generator.state.assign(state)
    _, _, z = vae.encoder(x)
    logits = keras.ops.convert_to_numpy(vae.decoder(z)).astype("float64")
    assert logits.shape == x.shape
    # Binary cross-entropy from logits, stable form.
    bce = np.maximum(logits, 0) - logits * x + np.log1p(np.exp(-abs(logits)))
    np.testing.assert_allclose(
        float(reconstruction_loss), bce.sum(axis=(1, 2, 3)).mean(), rtol=1e-5
    )
