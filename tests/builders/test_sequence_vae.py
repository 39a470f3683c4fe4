"""`build_sequence_vae`: windows of a multichannel series in sensor units
through the package's contract (fit, evaluate, the IWAE estimate, `.keras`,
SavedModel, TFLite), for both architectures."""

import math

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.datasets import windows

WINDOW = 16
CHANNELS = 3
ARCHITECTURES = ("conv", "recurrent")


def series(steps=800, seed=0):
    """Three sensors in their own units: sines of different phases, scales
    (0.01 to 50) and offsets, with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    scale = np.array([1.0, 50.0, 0.01])
    wave = np.sin(t / 6.0 + np.array([0.0, 1.0, 2.0]))
    noise = 0.05 * rng.standard_normal((steps, CHANNELS))
    return ((wave + noise) * scale + np.array([0.0, 1000.0, -3.0])).astype(
        "float32"
    )


def adapted_normalization(x):
    normalization = keras.layers.Normalization(axis=-1)
    normalization.adapt(x)
    return normalization


def build(x, architecture, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    vae = keras_vae.build_sequence_vae(
        (WINDOW, CHANNELS),
        architecture=architecture,
        latent_dim=4,
        filters=8,
        dilations=(1, 2),
        units=8,
        hidden_units=(16,),
        preprocessing=adapted_normalization(x),
        seed=seed,
        **kwargs,
    )
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    return vae


@pytest.fixture(scope="module")
def x():
    return windows(series(), WINDOW)


@pytest.fixture(scope="module", params=ARCHITECTURES)
def trained(request, x):
    vae = build(x, request.param)
    before = vae.evaluate(x, batch_size=128, verbose=0, return_dict=True)
    vae.fit(x, epochs=8, batch_size=32, verbose=0)
    return request.param, vae, before


def test_structure(trained, x):
    _, vae, _ = trained
    assert vae.data_shape == (WINDOW, CHANNELS)
    assert vae.latent_shape == (4,)
    assert tuple(vae.decoder.output_shape) == (None, WINDOW, CHANNELS)
    # One mean and variance per channel, in the sensors' units.
    mean = keras.ops.convert_to_numpy(vae.preprocessing.mean).ravel()
    std = np.sqrt(
        keras.ops.convert_to_numpy(vae.preprocessing.variance).ravel()
    )
    np.testing.assert_allclose(mean / std, x.mean(axis=(0, 1)) / std, atol=1e-4)
    np.testing.assert_allclose(std, x.std(axis=(0, 1)), rtol=1e-3)


def test_fit_learns_the_windows(trained, x):
    _, vae, before = trained
    after = vae.evaluate(x, batch_size=128, verbose=0, return_dict=True)
    # -ELBO in nats per window of 48 values in sensor units.
    assert after["loss"] < before["loss"] - 30
    # The reconstruction follows the sines in sensor units: the error of
    # the 50x sensor is a small part of its amplitude.
    reconstruction = vae.reconstruct(x[:64])
    error = np.abs(reconstruction - x[:64]).mean(axis=(0, 1))
    assert error[1] < 0.25 * 50 and error[2] < 0.25 * 0.01


def test_sensor_units_change_the_density_by_the_jacobian(x):
    """The same network on the series times 4 (its Normalization's mean
    times 4 and variance times 16, so the network sees the same numbers,
    exactly: powers of 2): each of the window's values gains log(4)
    nats."""
    vae = build(x, "conv")
    scaled = build(4 * x, "conv")
    for part in ("encoder", "decoder", "likelihood"):
        getattr(scaled, part).set_weights(getattr(vae, part).get_weights())
    scaled.preprocessing.set_weights(
        [
            w * {"mean": 4, "variance": 16}.get(v.name, 1)
            for w, v in zip(
                vae.preprocessing.get_weights(), vae.preprocessing.weights
            )
        ]
    )
    ll = keras_vae.evaluation.log_likelihood(vae, x[:32], 8, seed=3)
    ll_scaled = keras_vae.evaluation.log_likelihood(
        scaled, 4 * x[:32], 8, seed=3
    )
    np.testing.assert_allclose(
        ll - ll_scaled, WINDOW * CHANNELS * math.log(4), rtol=1e-6
    )


def test_importance_sampled_likelihood_is_above_the_elbo(trained, x):
    _, vae, _ = trained
    ll = keras_vae.evaluation.log_likelihood(vae, x[:128], 64, seed=0)
    elbo = vae.evaluate(x[:128], batch_size=128, verbose=0, return_dict=True)
    assert np.all(np.isfinite(ll))
    assert -ll.mean() < elbo["loss"]


def test_keras_file_round_trip(trained, x, tmp_path):
    _, vae, _ = trained
    path = tmp_path / "sequence.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.reconstruct(x[:8]), vae.reconstruct(x[:8]), rtol=1e-5
    )
    np.testing.assert_allclose(
        keras_vae.evaluation.log_likelihood(loaded, x[:8], 4, seed=1),
        keras_vae.evaluation.log_likelihood(vae, x[:8], 4, seed=1),
        rtol=1e-5,
    )


@pytest.mark.tensorflow_only
def test_saved_model_takes_raw_windows(trained, x, tmp_path):
    import tensorflow as tf

    from keras_vae.export import export_saved_model
    from keras_vae.export import fixed_noise_scores
    from keras_vae.export import score_noise

    _, vae, _ = trained
    path = export_saved_model(vae, tmp_path, score_samples=8, score_seed=2)
    signatures = tf.saved_model.load(path).signatures
    window = x[:5]
    np.testing.assert_allclose(
        signatures["encode"](x=window)["z_mean"],
        vae.encode(window)[0],
        atol=1e-5,
    )
    np.testing.assert_allclose(
        signatures["reconstruct"](x=window)["reconstruction"],
        vae.reconstruct(window),
        rtol=1e-5,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        signatures["score"](x=window)["nll"],
        fixed_noise_scores(vae, window, score_noise((4,), 8, seed=2)),
        rtol=1e-5,
    )


@pytest.mark.tensorflow_only
def test_tflite_decoder(trained, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    from keras_vae.export import export_tflite_decoder

    _, vae, _ = trained
    path = export_tflite_decoder(vae, tmp_path / "decoder.tflite")
    z = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    interpreter = Interpreter(model_path=path)
    index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(index, z.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(index, z)
    interpreter.invoke()
    output = interpreter.get_tensor(
        interpreter.get_output_details()[0]["index"]
    )
    np.testing.assert_allclose(output, vae.decode(z), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_shape": (64,)}, r"\(window, channels\).*input_shape=\(64,\)"),
        ({"input_shape": (8, 8, 1)}, r"input_shape=\(8, 8, 1\)"),
        ({"architecture": "lstm"}, r"architecture='lstm'"),
        ({"dilations": (1, 0)}, r"dilations=\(1, 0\)"),
        ({"units": 0}, r"units=0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_vae.build_sequence_vae(**kwargs)
