import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae
from keras_vae.export import export_saved_model
from keras_vae.export.saved_model import SIGNATURES
from keras_vae.export.warmup import WARMUP_FILE

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only

INPUT_NAMES = {
    "serving_default": ["x"],
    "reconstruct": ["x"],
    "encode": ["x"],
    "decode": ["z"],
    "sample": ["num_samples", "seed"],
    "score": ["x"],
}


@pytest.fixture(scope="module")
def data():
    (x_train, _), (x_test, _) = keras_vae.datasets.load_mnist(embedded=True)
    return x_train, x_test[:16]


@pytest.fixture(scope="module")
def vae(data):
    keras.utils.set_random_seed(0)
    vae = keras_vae.build_mlp_vae(input_shape=(28, 28, 1), latent_dim=20)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(data[0], epochs=1, batch_size=128, verbose=0)
    return vae


@pytest.fixture(scope="module")
def version_dir(vae, tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("saved_models") / "mnist_vae"
    return export_saved_model(vae, base_dir)


@pytest.fixture(scope="module")
def serving(version_dir):
    return tf.saved_model.load(version_dir)


def small_vae(likelihood="bernoulli"):
    return keras_vae.build_mlp_vae(
        input_shape=(4, 3),
        latent_dim=2,
        hidden_units=(8,),
        likelihood=likelihood,
    )


def test_writes_version_1_with_signatures(version_dir, serving):
    assert os.path.basename(version_dir) == "1"
    assert sorted(os.listdir(os.path.dirname(version_dir))) == ["1"]
    assert sorted(serving.signatures) == sorted(SIGNATURES)
    for name, input_names in INPUT_NAMES.items():
        _, kwargs = serving.signatures[name].structured_input_signature
        assert sorted(kwargs) == sorted(input_names)


@pytest.mark.parametrize("batch_size", [1, 5])
def test_outputs_match_keras(vae, serving, data, batch_size):
    x = data[1][:batch_size]
    signatures = serving.signatures
    z_mean, z_log_var = vae.encode(x)

    encoded = signatures["encode"](x=tf.constant(x))
    assert sorted(encoded) == ["z_log_var", "z_mean"]
    np.testing.assert_allclose(encoded["z_mean"], z_mean, atol=1e-5)
    np.testing.assert_allclose(encoded["z_log_var"], z_log_var, atol=1e-5)

    for name in ("serving_default", "reconstruct"):
        outputs = signatures[name](x=tf.constant(x))
        assert list(outputs) == ["reconstruction"]
        np.testing.assert_allclose(outputs["reconstruction"], vae(x), atol=1e-5)

    decoded = signatures["decode"](z=tf.constant(z_mean))
    assert sorted(decoded) == ["logits", "x_mean"]
    np.testing.assert_allclose(decoded["x_mean"], vae.decode(z_mean), atol=1e-5)
    np.testing.assert_allclose(
        decoded["logits"], vae.decoder(z_mean), atol=1e-5
    )
    for outputs in (encoded, decoded):
        for value in outputs.values():
            assert value.dtype == tf.float32
            assert value.shape[0] == batch_size


def test_sample_is_reproducible_per_seed(vae, serving):
    sample = serving.signatures["sample"]
    num_samples = tf.constant(6, tf.int32)
    first = sample(num_samples=num_samples, seed=tf.constant(7, tf.int64))
    again = sample(num_samples=num_samples, seed=tf.constant(7, tf.int64))
    other = sample(num_samples=num_samples, seed=tf.constant(8, tf.int64))
    samples = first["samples"].numpy()
    assert list(first) == ["samples"]
    assert samples.shape == (6, 28, 28, 1)
    assert samples.dtype == np.float32
    assert 0.0 <= samples.min() and samples.max() <= 1.0
    np.testing.assert_array_equal(samples, again["samples"])
    assert np.abs(samples - other["samples"].numpy()).mean() > 1e-3
    # The samples are the decoder means of z from the prior: z itself is
    # `tf.random.stateless_normal` of the seed pair (seed, 0).
    z = tf.random.stateless_normal((6, 20), seed=tf.constant([7, 0], tf.int64))
    np.testing.assert_allclose(samples, vae.decode(z.numpy()), atol=1e-5)


def test_loads_without_keras_vae_in_a_fresh_process(vae, version_dir, data):
    x = data[1][:3]
    inputs_path = os.path.join(os.path.dirname(version_dir), "..", "x.npy")
    outputs_path = inputs_path.replace("x.npy", "outputs.npz")
    np.save(inputs_path, x)
    code = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import tensorflow as tf

        loaded = tf.saved_model.load({version_dir!r})
        x = tf.constant(np.load({inputs_path!r}))
        outputs = {{}}
        for name in ("serving_default", "encode"):
            for key, value in loaded.signatures[name](x=x).items():
                outputs[name + "/" + key] = value.numpy()
        z = tf.constant(outputs["encode/z_mean"])
        for key, value in loaded.signatures["decode"](z=z).items():
            outputs["decode/" + key] = value.numpy()
        np.savez({outputs_path!r}, **outputs)
        assert "keras_vae" not in sys.modules
        """
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True
    )
    with np.load(outputs_path) as outputs:
        z_mean, z_log_var = vae.encode(x)
        np.testing.assert_allclose(
            outputs["serving_default/reconstruction"], vae(x), atol=1e-5
        )
        np.testing.assert_allclose(outputs["encode/z_mean"], z_mean, atol=1e-5)
        np.testing.assert_allclose(
            outputs["encode/z_log_var"], z_log_var, atol=1e-5
        )
        np.testing.assert_allclose(
            outputs["decode/x_mean"], vae.decode(z_mean), atol=1e-5
        )


def test_saved_model_cli_lists_signatures(version_dir):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = subprocess.run(
        [cli, "show", "--all", "--dir", version_dir],
        check=True,
        capture_output=True,
        text=True,
    )
    for name in SIGNATURES:
        assert f"signature_def['{name}']" in result.stdout
    for name in ("x", "z", "num_samples", "seed"):
        assert f"inputs['{name}']" in result.stdout
    outputs = ("reconstruction", "z_mean", "z_log_var", "x_mean", "samples")
    for name in outputs + ("nll",):
        assert f"outputs['{name}']" in result.stdout
    assert "shape: (-1, 28, 28, 1)" in result.stdout


def test_warmup_requests_run_on_every_signature(version_dir, serving):
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(version_dir, WARMUP_FILE)
    requests = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        requests.append(log.predict_log.request)
    assert len(requests) == 2 * len(SIGNATURES)
    assert {r.model_spec.signature_name for r in requests} == set(SIGNATURES)
    for request in requests:
        assert request.model_spec.name == "mnist_vae"
        name = request.model_spec.signature_name
        assert sorted(request.inputs) == sorted(INPUT_NAMES[name])
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        outputs = serving.signatures[name](**inputs)
        assert all(np.all(np.isfinite(v)) for v in outputs.values())


def test_next_and_explicit_versions(tmp_path):
    vae = small_vae()
    base_dir = tmp_path / "model"
    assert export_saved_model(vae, base_dir) == str(base_dir / "1")
    assert export_saved_model(vae, base_dir, version=5) == str(base_dir / "5")
    assert export_saved_model(vae, str(base_dir)) == str(base_dir / "6")
    assert sorted(os.listdir(base_dir)) == ["1", "5", "6"]


def test_existing_version_raises_without_overwrite(tmp_path):
    vae = small_vae()
    export_saved_model(vae, tmp_path, version=3)
    before = sorted(os.listdir(tmp_path / "3"))
    with pytest.raises(ValueError, match="Received: version=3"):
        export_saved_model(vae, tmp_path, version=3)
    assert os.listdir(tmp_path) == ["3"]
    assert sorted(os.listdir(tmp_path / "3")) == before


def test_overwrite_replaces_the_version(tmp_path):
    export_saved_model(small_vae(), tmp_path, version=1)
    (tmp_path / "1" / "stale_marker").write_text("old")
    vae = small_vae()
    path = export_saved_model(vae, tmp_path, version=1, overwrite=True)
    assert os.listdir(tmp_path) == ["1"]
    assert not os.path.exists(os.path.join(path, "stale_marker"))
    z = np.ones((2, 2), "float32")
    decoded = tf.saved_model.load(path).signatures["decode"](z=z)
    np.testing.assert_allclose(decoded["x_mean"], vae.decode(z), atol=1e-5)


@pytest.mark.parametrize("version", [0, -1, 1.0, "2", True])
def test_invalid_version_raises(tmp_path, version):
    with pytest.raises(ValueError, match=f"Received: version={version!r}"):
        export_saved_model(small_vae(), tmp_path / "model", version=version)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "model",
    [
        None,
        "mnist_vae.keras",
        keras.Sequential([keras.layers.Dense(2)]),
    ],
    ids=["none", "str", "unbuilt_sequential"],
)
def test_non_vae_raises(tmp_path, model):
    with pytest.raises(ValueError, match="expected a `keras_vae.VAE`"):
        export_saved_model(model, tmp_path / "model")
    assert os.listdir(tmp_path) == []


def test_unbuilt_vae_raises(tmp_path):
    vae = small_vae()
    vae.built = False
    with pytest.raises(ValueError, match="never built"):
        export_saved_model(vae, tmp_path / "model")
    assert os.listdir(tmp_path) == []


def test_path_that_is_a_file_raises(tmp_path):
    path = tmp_path / "model"
    path.write_text("")
    with pytest.raises(ValueError, match="Received: path="):
        export_saved_model(small_vae(), path)
    assert os.listdir(tmp_path) == ["model"]


def test_failure_while_saving_leaves_nothing(tmp_path, monkeypatch):
    vae = small_vae()
    export_saved_model(vae, tmp_path / "existing", version=1)

    def failing_save(obj, export_dir, **kwargs):
        with open(os.path.join(export_dir, "saved_model.pb"), "w") as f:
            f.write("partial")
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    for kwargs in ({}, {"version": 1, "overwrite": True}):
        with pytest.raises(RuntimeError, match="disk full"):
            export_saved_model(vae, tmp_path / "existing", **kwargs)
        assert sorted(os.listdir(tmp_path / "existing")) == ["1"]
        assert "saved_model.pb" in os.listdir(tmp_path / "existing" / "1")
    with pytest.raises(RuntimeError, match="disk full"):
        export_saved_model(vae, tmp_path / "new" / "model")
    assert os.listdir(tmp_path) == ["existing"]


def test_gaussian_decode_has_no_logits(tmp_path):
    vae = small_vae("gaussian")
    path = export_saved_model(vae, tmp_path)
    z = np.array([[0.5, -1.0]], "float32")
    decoded = tf.saved_model.load(path).signatures["decode"](z=z)
    assert list(decoded) == ["x_mean"]
    np.testing.assert_allclose(decoded["x_mean"], vae.decode(z), atol=1e-5)


def test_outputs_are_float32_under_mixed_precision(tmp_path):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        vae = small_vae()
        path = export_saved_model(vae, tmp_path)
    finally:
        keras.config.set_dtype_policy("float32")
    assert vae.decoder.compute_dtype == "float16"
    signatures = tf.saved_model.load(path).signatures
    x = np.random.default_rng(0).uniform(size=(3, 4, 3)).astype("float32")
    outputs = {
        **signatures["serving_default"](x=x),
        **signatures["encode"](x=x),
        **signatures["decode"](z=np.zeros((3, 2), "float32")),
        **signatures["sample"](num_samples=3, seed=np.int64(0)),
    }
    assert len(outputs) == 6
    for value in outputs.values():
        assert value.dtype == tf.float32
    np.testing.assert_allclose(
        outputs["reconstruction"], vae.reconstruct(x), atol=1e-3
    )


def test_failed_overwrite_restores_the_old_version(tmp_path, monkeypatch):
    vae = small_vae()
    export_saved_model(vae, tmp_path, version=1)
    (tmp_path / "1" / "old_marker").write_text("old")
    replace = os.replace

    def failing_replace(src, dst):
        # The new version's move into place; not the old one's, aside.
        if dst == str(tmp_path / "1") and not src.endswith(".old"):
            raise OSError("rename failed")
        replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        export_saved_model(vae, tmp_path, version=1, overwrite=True)
    assert os.listdir(tmp_path) == ["1"]
    assert (tmp_path / "1" / "old_marker").read_text() == "old"


def test_exports_a_model_loaded_from_a_keras_file(vae, data, tmp_path):
    vae.save(tmp_path / "mnist_vae.keras")
    loaded = keras.saving.load_model(tmp_path / "mnist_vae.keras")
    path = export_saved_model(loaded, tmp_path / "mnist_vae")
    x = data[1][:4]
    outputs = tf.saved_model.load(path).signatures["reconstruct"](x=x)
    np.testing.assert_allclose(outputs["reconstruction"], vae(x), atol=1e-5)
