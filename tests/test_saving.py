"""`keras_vae.load_vae`: a missing, damaged or foreign file each get their
own error, and a valid one loads with identical outputs."""

import keras
import numpy as np
import pytest

import keras_vae


@pytest.fixture
def saved(tiny_vae, vectors, tmp_path):
    tiny_vae.compile(optimizer="adam")
    tiny_vae.fit(vectors, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "vae.keras"
    tiny_vae.save(path)
    return tiny_vae, path


def test_loads_a_vae_with_identical_outputs(saved, vectors):
    vae, path = saved
    again = keras_vae.load_vae(path)
    assert isinstance(again, keras_vae.VAE)
    np.testing.assert_array_equal(
        again.reconstruct(vectors), vae.reconstruct(vectors)
    )


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file"):
        keras_vae.load_vae(tmp_path / "nothing.keras")


def test_truncated_file(saved, tmp_path):
    _, path = saved
    data = path.read_bytes()
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        keras_vae.load_vae(truncated)


def test_tampered_weights(saved, tmp_path):
    _, path = saved
    data = bytearray(path.read_bytes())
    # Flip one byte inside the stored weights: the zip checksum catches it.
    data[len(data) // 2] ^= 0xFF
    tampered = tmp_path / "tampered.keras"
    tampered.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="damaged|truncated|corrupted"):
        keras_vae.load_vae(tampered)


def test_not_a_keras_file(tmp_path):
    path = tmp_path / "notes.keras"
    path.write_text("not a model")
    with pytest.raises(ValueError, match="not a complete `.keras` archive"):
        keras_vae.load_vae(path)


def test_a_keras_model_that_is_not_a_vae(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "other.keras"
    model.save(path)
    with pytest.raises(ValueError, match="not a keras_vae.VAE.*Sequential"):
        keras_vae.load_vae(path)


def _vae_with_lambda(marker):
    """A keras_vae.VAE whose encoder holds a `Lambda` layer: Python code
    stored in the file, which creates `marker` whenever it runs."""

    x = keras.Input((4,))
    # The path is a constant of the lambda's code (Keras 3.15 fails to
    # load a lambda's default arguments).
    code = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")
    h = keras.layers.Lambda(code)(x)
    z_mean, z_log_var = keras_vae.layers.KLDivergenceLayer()(
        [keras.layers.Dense(2)(h), keras.layers.Dense(2)(h)]
    )
    z = keras_vae.layers.Sampling()([z_mean, z_log_var])
    encoder = keras.Model(x, [z_mean, z_log_var, z])
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    return keras_vae.VAE(encoder, decoder)


def test_refuses_a_vae_holding_code(tmp_path):
    marker = tmp_path / "code_ran"
    path = tmp_path / "lambda.keras"
    _vae_with_lambda(marker).save(path)
    marker.unlink()  # Saving traced the layer.

    # safe_mode stays on: the stored bytecode is never deserialized.
    with pytest.raises(ValueError, match="Lambda.*safe_mode"):
        keras_vae.load_vae(path)
    assert not marker.exists()

    # What safe_mode prevents: Keras would run the file's code on loading.
    keras.saving.load_model(path, safe_mode=False)
    assert marker.exists()
