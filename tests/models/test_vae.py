"""The `VAE` model: its training step, metrics, inference and saving."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae
from keras_vae import VAE
from keras_vae.likelihoods import Gaussian

METRICS = {"loss", "reconstruction_loss", "kl_loss"}


def compiled(vae, learning_rate=1e-3):
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return vae


def test_fit_reports_the_three_losses(tiny_vae, vectors):
    history = compiled(tiny_vae).fit(
        vectors, batch_size=16, epochs=3, verbose=0
    )
    assert set(history.history) == METRICS
    # The loss is the sum of its two parts, epoch by epoch.
    np.testing.assert_allclose(
        history.history["loss"],
        np.add(
            history.history["reconstruction_loss"], history.history["kl_loss"]
        ),
        rtol=1e-6,
    )
    assert all(v > 0 for v in history.history["kl_loss"])


def test_evaluate_returns_the_three_losses(tiny_vae, vectors):
    results = compiled(tiny_vae).evaluate(
        vectors, batch_size=16, verbose=0, return_dict=True
    )
    assert set(results) == METRICS
    np.testing.assert_allclose(
        results["loss"],
        results["reconstruction_loss"] + results["kl_loss"],
        rtol=1e-6,
    )


@pytest.mark.parametrize("wrap", [lambda x: x, lambda x: (x,)])
def test_validation_data(tiny_vae, vectors, wrap):
    history = compiled(tiny_vae).fit(
        vectors[:48],
        batch_size=16,
        epochs=1,
        validation_data=wrap(vectors[48:]),
        verbose=0,
    )
    assert set(history.history) == METRICS | {f"val_{m}" for m in METRICS}
    assert np.isfinite(history.history["val_loss"][0])


def test_fit_on_a_dataset_of_x_alone(tiny_vae, vectors):
    dataset = tf.data.Dataset.from_tensor_slices(vectors).batch(16)
    # Keras 3.15 warns about its own default `shuffle=True` for datasets.
    history = compiled(tiny_vae).fit(
        dataset, epochs=1, shuffle=False, verbose=0
    )
    assert np.isfinite(history.history["loss"][0])


def test_losses_match_a_numpy_recomputation():
    # A model whose answer is known: a decoder that ignores `z` (zero
    # kernel, bias b) makes the Gaussian NLL independent of the noise, and
    # the KL depends on the encoder's deterministic outputs only.
    rng = np.random.default_rng(0)
    x = rng.normal(loc=0.5, scale=2.0, size=(50, 6)).astype("float32")
    vae = keras_vae.build_mlp_vae(
        input_shape=(6,),
        latent_dim=3,
        hidden_units=(5,),
        likelihood=Gaussian(scale=0.7),
        beta=0.3,
    )
    params = vae.decoder.get_layer("params")
    b = rng.normal(size=(6,)).astype("float32")
    params.set_weights([np.zeros((5, 6), "float32"), b])
    # 50 examples in batches of 16 leave a short last batch of 2: the epoch
    # value must still be the mean over examples.
    results = compiled(vae).evaluate(
        x, batch_size=16, verbose=0, return_dict=True
    )
    x64 = x.astype("float64")
    nll = (
        0.5 * ((x64 - b) / 0.7) ** 2 + np.log(0.7) + 0.5 * np.log(2 * np.pi)
    ).sum(axis=1)
    mean, log_var = (a.astype("float64") for a in vae.encode(x))
    kl = -0.5 * (1 + log_var - mean**2 - np.exp(log_var)).sum(axis=1)
    np.testing.assert_allclose(
        results["reconstruction_loss"], nll.mean(), rtol=1e-5
    )
    np.testing.assert_allclose(results["kl_loss"], 0.3 * kl.mean(), rtol=1e-5)


def test_bernoulli_reconstruction_loss_with_a_near_deterministic_encoder(
    vectors,
):
    # With z_log_var = -60, clipped to -30, the noise (scale e^-15) is at
    # float32's resolution of z_mean, so z == z_mean to within ~1e-7 and the
    # reconstruction loss is the cross-entropy of the deterministic
    # reconstruction.
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,)
    )
    head = vae.encoder.get_layer("z_log_var")
    kernel, _ = head.get_weights()
    head.set_weights([np.zeros_like(kernel), np.full((2,), -60.0, "float32")])
    _, reconstruction_loss, kl_loss = vae.compute_losses(vectors)
    p = vae.reconstruct(vectors).astype("float64")
    x = vectors.astype("float64")
    nll = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)
    np.testing.assert_allclose(
        float(reconstruction_loss), nll.mean(), rtol=1e-5
    )
    mean, _ = vae.encode(vectors)
    # The KL clips z_log_var to -30 (keras_vae.utils.log_variance).
    kl = 0.5 * (29.0 + np.exp(-30.0) + (mean.astype("float64") ** 2)).sum(1)
    np.testing.assert_allclose(float(kl_loss), kl.mean(), rtol=1e-5)


def test_save_and_load_round_trip(tmp_path, vectors):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,),
        latent_dim=2,
        hidden_units=(16,),
        likelihood=Gaussian(scale=0.5),
        beta=0.25,
    )
    compiled(vae).fit(vectors, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, VAE)
    assert isinstance(loaded.likelihood, Gaussian)
    assert loaded.likelihood.scale == 0.5
    assert [layer.beta for layer in loaded.kl_layers] == [0.25]
    assert len(loaded.weights) == len(vae.weights)
    for a, b in zip(vae.weights, loaded.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(
        loaded.reconstruct(vectors), vae.reconstruct(vectors)
    )
    for a, b in zip(loaded.encode(vectors), vae.encode(vectors)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        loaded.sample(4, seed=1), vae.sample(4, seed=1)
    )


def test_learned_gaussian_scale_is_saved(tmp_path, vectors):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,),
        latent_dim=2,
        hidden_units=(16,),
        likelihood="gaussian",
    )
    assert any(w is vae.likelihood.log_scale for w in vae.trainable_weights)
    compiled(vae, 0.05).fit(vectors, batch_size=16, epochs=2, verbose=0)
    assert np.any(vae.likelihood.log_scale.numpy() != 0.0)
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    np.testing.assert_array_equal(
        loaded.likelihood.log_scale.numpy(), vae.likelihood.log_scale.numpy()
    )


def test_config_round_trip(tiny_vae, vectors):
    config = tiny_vae.get_config()
    revived = VAE.from_config(config)
    assert isinstance(revived, VAE)
    assert revived.get_config() == config
    # The config is left intact: it can build a second model.
    assert VAE.from_config(config).get_config() == config
    revived.set_weights(tiny_vae.get_weights())
    np.testing.assert_array_equal(
        revived.reconstruct(vectors), tiny_vae.reconstruct(vectors)
    )


def test_labels_are_rejected(tiny_vae, vectors):
    labels = np.zeros((len(vectors),), "int32")
    vae = compiled(tiny_vae)
    with pytest.raises(ValueError, match="unconditional.*Received"):
        vae.fit(vectors, labels, verbose=0)
    with pytest.raises(ValueError, match="unconditional.*Received"):
        vae.evaluate(vectors, labels, verbose=0)
    dataset = tf.data.Dataset.from_tensor_slices((vectors, labels)).batch(8)
    with pytest.raises(ValueError, match="unconditional.*Received"):
        vae.fit(dataset, verbose=0)
    with pytest.raises(ValueError, match="unconditional.*Received"):
        vae.fit(vectors, validation_data=(vectors, labels), verbose=0)


def test_sample_is_reproducible_and_in_range(tiny_vae):
    first = tiny_vae.sample(10, seed=0)
    np.testing.assert_array_equal(first, tiny_vae.sample(10, seed=0))
    assert not np.array_equal(first, tiny_vae.sample(10, seed=1))
    assert first.shape == (10, 8)
    assert first.dtype == np.float32
    assert np.all((first >= 0.0) & (first <= 1.0))


def test_encode_decode_reconstruct_shapes(images):
    vae = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), latent_dim=3, hidden_units=(8,)
    )
    # Batches of 20 over 64 examples: the pieces must join in order.
    mean, log_var = vae.encode(images, batch_size=20)
    assert mean.shape == log_var.shape == (64, 3)
    full_mean, _ = vae.encode(images)
    np.testing.assert_allclose(mean, full_mean, rtol=1e-5, atol=1e-6)
    assert vae.decode(mean).shape == (64, 28, 28, 1)
    reconstruction = vae.reconstruct(images)
    np.testing.assert_allclose(
        reconstruction, vae.decode(mean), rtol=1e-5, atol=1e-6
    )
    assert vae.latent_shape == (3,)
    assert vae.data_shape == (28, 28, 1)


@pytest.mark.parametrize("shape", [(4, 3), (4,), (4, 2, 1)])
def test_decode_rejects_a_wrong_latent_shape(tiny_vae, shape):
    with pytest.raises(ValueError, match="Received: z.shape="):
        tiny_vae.decode(np.zeros(shape, "float32"))


def test_one_step_under_mixed_float16(vectors):
    keras.config.set_dtype_policy("mixed_float16")
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,)
    )
    assert vae.decoder.get_layer("params").compute_dtype == "float16"
    _, reconstruction_loss, kl_loss = vae.compute_losses(vectors)
    dtypes = {
        keras.backend.standardize_dtype(t.dtype)
        for t in (reconstruction_loss, kl_loss)
    }
    assert dtypes == {"float32"}
    history = compiled(vae).fit(vectors, batch_size=64, epochs=1, verbose=0)
    for name in METRICS:
        assert np.isfinite(history.history[name][0]), name
    assert vae.reconstruct(vectors).dtype == np.float32


def test_gaussian_vae_learns_real_valued_data():
    rng = np.random.default_rng(0)
    # Values far outside [0, 1], which only a Gaussian likelihood accepts.
    x = rng.normal(loc=3.0, scale=2.0, size=(512, 8)).astype("float32")
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,),
        latent_dim=2,
        hidden_units=(16,),
        likelihood="gaussian",
    )
    history = compiled(vae, 1e-2).fit(x, batch_size=64, epochs=15, verbose=0)
    losses = history.history["loss"]
    # At the start (scale 1, mean ~ 0) the NLL is about 8 * (0.5 * (9 + 4)
    # + 0.92) ~ 59 nats; a per-feature N(3, 2**2) gives 8 * 2.11 ~ 17.
    assert losses[0] > 30.0
    assert losses[-1] < 20.0


def test_assigning_beta_between_epochs_reaches_the_compiled_step(
    tiny_vae, vectors
):
    vae = compiled(tiny_vae, learning_rate=0.0)
    first = vae.fit(vectors, batch_size=64, epochs=1, verbose=0)
    train_function = vae.train_function
    (kl_layer,) = vae.kl_layers
    kl_layer.beta = 0.5
    half = vae.fit(vectors, batch_size=64, epochs=1, verbose=0)
    kl_layer.beta = 0.0
    zero = vae.fit(vectors, batch_size=64, epochs=1, verbose=0)
    # Weights are frozen (learning rate 0): only beta changed.
    np.testing.assert_allclose(
        half.history["kl_loss"][0],
        0.5 * first.history["kl_loss"][0],
        rtol=1e-6,
    )
    assert zero.history["kl_loss"][0] == 0.0
    # The same compiled step served all three epochs.
    assert vae.train_function is train_function


def test_sample_at_a_temperature_scales_the_prior_draws(tiny_vae):
    z = tiny_vae._prior_sample(5, seed=3)
    np.testing.assert_allclose(
        tiny_vae.sample(5, seed=3, temperature=0.6),
        tiny_vae.decode(0.6 * z),
        rtol=1e-6,
    )
    np.testing.assert_allclose(
        tiny_vae.sample(5, seed=3, temperature=0.0),
        tiny_vae.decode(np.zeros((5, 2), "float32")),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match="temperature=-1"):
        tiny_vae.sample(5, temperature=-1)
