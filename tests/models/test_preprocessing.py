"""Models that take raw data: 8-bit pixels and table rows in their own
units, mapped inside the model; log-likelihoods of the data as given."""

import keras
import numpy as np
import pytest

import keras_vae


@pytest.fixture
def pixels():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(64, 6, 6, 1)).astype("uint8")


@pytest.fixture
def rows():
    # Features in very different units, like a real table.
    rng = np.random.default_rng(0)
    scales = np.array([0.01, 1.0, 300.0, 5.0], "float32")
    offsets = np.array([0.1, -3.0, 1000.0, 20.0], "float32")
    return (rng.normal(size=(128, 4)) * scales + offsets).astype("float32")


def twins(input_shape, preprocessing, likelihood="bernoulli"):
    """A raw-data model and the same network on data in the model's units,
    with equal weights."""
    raw = keras_vae.build_mlp_vae(
        input_shape,
        latent_dim=2,
        hidden_units=(8,),
        likelihood=likelihood,
        preprocessing=preprocessing,
        seed=0,
    )
    plain = keras_vae.build_mlp_vae(
        input_shape,
        latent_dim=2,
        hidden_units=(8,),
        likelihood=likelihood,
        seed=0,
    )
    for part in ("encoder", "decoder", "likelihood"):
        for a, b in zip(
            getattr(plain, part).weights, getattr(raw, part).weights
        ):
            # A copy: on JAX the arrays a step donates are then deleted.
            a.assign(keras.ops.convert_to_numpy(b))
    return raw, plain


def test_8bit_pixels_are_the_images_scaled_to_0_1(pixels):
    raw, plain = twins((6, 6, 1), "8bit")
    scaled = pixels.astype("float32") / 255
    assert raw.input_dtype == "uint8" and plain.input_dtype == "float32"
    for a, b in zip(raw.encode(pixels), plain.encode(scaled)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        raw.reconstruct(pixels), 255 * plain.reconstruct(scaled), rtol=1e-5
    )
    z = np.random.default_rng(1).normal(size=(5, 2)).astype("float32")
    decoded = raw.decode(z)
    np.testing.assert_allclose(decoded, 255 * plain.decode(z), rtol=1e-5)
    assert 0 <= decoded.min() and decoded.max() <= 255
    # Bernoulli is a mass on [0, 1] values, not a density: no Jacobian.
    ll_raw = keras_vae.evaluation.log_likelihood(raw, pixels, 4, seed=3)
    ll_plain = keras_vae.evaluation.log_likelihood(plain, scaled, 4, seed=3)
    np.testing.assert_allclose(ll_raw, ll_plain, rtol=1e-6)


def test_8bit_models_train_on_uint8_and_refuse_other_ranges(pixels):
    raw, _ = twins((6, 6, 1), "8bit")
    raw.compile(optimizer="adam")
    history = raw.fit(pixels, epochs=2, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    raw.fit(pixels.astype("float32"), epochs=1, verbose=0)  # 0-255 floats.
    with pytest.raises(ValueError, match="8-bit pixel values.*max=256"):
        raw.fit(pixels.astype("float32") + 1, verbose=0)
    with pytest.raises(ValueError, match="min=-1"):
        raw.encode(pixels.astype("float32") - 1)


def test_a_normalized_table_is_scored_in_its_own_units(rows):
    normalization = keras.layers.Normalization()
    normalization.adapt(rows)
    raw, plain = twins((4,), normalization, likelihood="gaussian")
    mean, std = rows.mean(axis=0), rows.std(axis=0)
    standardized = (rows - mean) / std
    np.testing.assert_allclose(
        raw.encode(rows)[0], plain.encode(standardized)[0], atol=2e-5
    )
    # Decoded rows come back in the table's units.
    np.testing.assert_allclose(
        (raw.reconstruct(rows) - mean) / std,
        plain.reconstruct(standardized),
        atol=2e-4,
    )
    # log p(x) = log p(u) + log |du/dx| = log p(u) - sum(log std).
    ll_raw = keras_vae.evaluation.log_likelihood(raw, rows, 4, seed=3)
    ll_plain = keras_vae.evaluation.log_likelihood(
        plain, standardized, 4, seed=3
    )
    np.testing.assert_allclose(
        ll_raw, ll_plain - np.sum(np.log(std)), rtol=1e-5, atol=1e-3
    )
    raw.compile(optimizer="adam")
    plain.compile(optimizer="adam")
    a = raw.evaluate(rows, verbose=0, return_dict=True)
    b = plain.evaluate(standardized, verbose=0, return_dict=True)
    assert a["kl_loss"] == pytest.approx(b["kl_loss"], rel=1e-4)
    # One z per example, the same noise: the Jacobian is the difference.
    assert a["reconstruction_loss"] - b["reconstruction_loss"] == (
        pytest.approx(float(np.sum(np.log(std))), rel=0.05)
    )


def test_raw_models_save_and_load(pixels, rows, tmp_path):
    normalization = keras.layers.Normalization()
    normalization.adapt(rows)
    for name, model, data in [
        ("pixels", twins((6, 6, 1), "8bit")[0], pixels),
        ("rows", twins((4,), normalization, "gaussian")[0], rows),
    ]:
        model.compile(optimizer="adam")
        model.fit(data, epochs=1, verbose=0)
        model.save(tmp_path / f"{name}.keras")
        again = keras.saving.load_model(tmp_path / f"{name}.keras")
        assert again.input_dtype == model.input_dtype
        np.testing.assert_array_equal(
            again.reconstruct(data[:8]), model.reconstruct(data[:8])
        )


def test_invalid_preprocessing_is_refused():
    with pytest.raises(ValueError, match="Received: preprocessing='16bit'"):
        keras_vae.build_mlp_vae((4,), preprocessing="16bit")
    inverse = keras.layers.Normalization(mean=0.0, variance=1.0, invert=True)
    with pytest.raises(ValueError, match="invert=True"):
        keras_vae.build_mlp_vae((4,), preprocessing=inverse)
