"""A VAE under MLflow's autologging (docs/guides/tracking.md): the arrays
given to `fit` are logged as the run's datasets, the model is logged with
a signature, a logged VAE loads in a fresh process once `keras_vae` is
imported, and `mlflow.tensorflow.autolog` checkpoints a VAE's weights.

Each test tracks to an SQLite store of its own in `tmp_path` (MLflow 3's
default kind; its file store can read a metric file the autologger is
still writing, and then fails to log the model), and turns
autologging off after itself (it patches `keras.Model.fit` for the whole
process)."""

import json
import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from keras.utils import unpack_x_y_sample_weight

import keras_vae

mlflow = pytest.importorskip("mlflow")

# MLflow warns as it logs any Python-function model (a model's `predict`
# has no type hints); an error here would stop it logging the model. Its
# SQL store's table mappings use a loader SQLAlchemy 2.1 deprecates.
pytestmark = [
    pytest.mark.filterwarnings(
        "ignore:.*Any type hint is inferred as AnyType:UserWarning"
    ),
    pytest.mark.filterwarnings(
        "ignore:The ``noload`` loader strategy is deprecated"
    ),
]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A local SQLite store in `tmp_path` (also the working directory, so
    its artifacts land there), and autologging off afterwards."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield tmp_path
    mlflow.keras.autolog(disable=True)
    mlflow.tensorflow.autolog(disable=True)
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


@pytest.fixture
def mlflow_warnings():
    """The messages MLflow logs at WARNING or above."""
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("mlflow")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def messages(records):
    return [record.getMessage() for record in records]


# MLflow's own autologging passes `log_model` the argument it deprecated;
# it says nothing about the model.
ARTIFACT_PATH_DEPRECATION = "`artifact_path` is deprecated"


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x_train = rng.uniform(size=(64, 8)).astype("float32")
    x_val = rng.uniform(size=(32, 8)).astype("float32")
    return x_train, x_val


def tiny_vae():
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    vae.compile(optimizer="adam")
    return vae


def test_autolog_logs_the_arrays_given_to_fit(store, mlflow_warnings, data):
    x_train, x_val = data
    mlflow.keras.autolog(log_models=False)
    with mlflow.start_run() as run:
        tiny_vae().fit(x_train, validation_data=x_val, batch_size=16, verbose=0)
    run = mlflow.get_run(run.info.run_id)
    logged = {d.tags[0].value: d.dataset for d in run.inputs.dataset_inputs}
    assert set(logged) == {"train", "eval"}
    # The user's own arrays: the digest MLflow computes of them.
    for context, x in (("train", x_train), ("eval", x_val)):
        assert logged[context].digest == mlflow.data.from_numpy(x).digest
        profile = json.loads(logged[context].profile)
        assert profile["features_shape"] == list(x.shape)
    assert run.data.params["batch_size"] == "16"
    assert {"loss", "kl_loss", "reconstruction_loss", "val_loss"} <= set(
        run.data.metrics
    )
    assert messages(mlflow_warnings) == []


@pytest.mark.tensorflow_only
def test_fit_feeds_keras_batches_without_the_autotuner(monkeypatch):
    # `fit` hands Keras the arrays, and turns tf.data's autotuner off in
    # the dataset Keras makes of them (docs/benchmarks/performance.md).
    # Row i holds i / 40 in every column.
    x = np.repeat(np.arange(40, dtype="float32")[:, None] / 40, 8, axis=1)
    datasets = []
    original = keras_vae.VAE._maybe_symbolic_build

    def spy(self, iterator=None, data_batch=None):
        original(self, iterator=iterator, data_batch=data_batch)
        datasets.append(iterator._distributed_dataset)

    monkeypatch.setattr(keras_vae.VAE, "_maybe_symbolic_build", spy)
    vae = tiny_vae()
    vae.fit(x, batch_size=16, epochs=1, verbose=0)
    (dataset,) = datasets
    assert dataset.options().autotune.enabled is False
    # Keras's batches: 16, 16 and the short last one, a new permutation of
    # the rows every epoch.
    epochs = [
        [unpack_x_y_sample_weight(batch)[0].numpy() for batch in dataset]
        for _ in range(2)
    ]
    for batches in epochs:
        assert [len(b) for b in batches] == [16, 16, 8]
        rows = np.concatenate(batches)[:, 0]
        assert not np.array_equal(rows, x[:, 0])
        np.testing.assert_array_equal(np.sort(rows), x[:, 0])
    assert vae._feeds_arrays_without_autotune is False


@pytest.mark.parametrize(
    "build, input_shape",
    [
        (
            lambda: keras_vae.build_mlp_vae(
                input_shape=(8,), latent_dim=2, hidden_units=(16,)
            ),
            (None, 8),
        ),
        (
            lambda: keras_vae.build_mlp_vae(
                input_shape=(8,),
                latent_dim=2,
                hidden_units=(16,),
                num_classes=3,
            ),
            [(None, 8), (None, 3)],
        ),
        (
            lambda: keras_vae.build_hierarchical_mlp_vae(
                input_shape=(8,), latent_dims=(2, 3), hidden_units=(16, 16)
            ),
            (None, 8),
        ),
        (
            # The decoder gives the mixture's parameters (100 channels);
            # the model gives the reconstruction, of the shape of `x`.
            lambda: keras_vae.build_conv_vae(
                input_shape=(8, 8, 3),
                latent_dim=2,
                filters=(4,),
                likelihood="discretized_logistic_mixture",
                preprocessing="8bit",
            ),
            (None, 8, 8, 3),
        ),
    ],
    ids=["vae", "conditional", "hierarchical", "pixel_mixture"],
)
def test_input_and_output_shapes_are_those_of_a_functional_model(
    build, input_shape
):
    vae = build()
    assert vae.input_shape == input_shape
    x_shape = input_shape[0] if isinstance(input_shape, list) else input_shape
    assert vae.output_shape == x_shape
    if isinstance(input_shape, list):
        # MLflow's signatures take one unnamed tensor, no more (the same
        # for a functional model of two inputs).
        with pytest.raises(mlflow.exceptions.MlflowException, match="names"):
            mlflow.keras.utils.get_model_signature(vae)
        return
    # What MLflow reads of a Keras model for its signature.
    signature = mlflow.keras.utils.get_model_signature(vae)
    assert signature.inputs.inputs[0].shape == (-1,) + input_shape[1:]
    assert signature.outputs.inputs[0].shape == (-1,) + x_shape[1:]


@pytest.mark.tensorflow_only
def test_autolog_logs_an_exported_model_with_its_signature(
    store, mlflow_warnings, data
):
    x_train, x_val = data
    mlflow.keras.autolog(save_exported_model=True)
    vae = tiny_vae()
    with mlflow.start_run():
        vae.fit(x_train, epochs=1, verbose=0)
    model_uri = mlflow.last_logged_model().model_uri
    signature = mlflow.models.get_model_info(model_uri).signature
    for schema in (signature.inputs, signature.outputs):
        (spec,) = schema.inputs
        assert (spec.type, spec.shape) == (np.dtype("float32"), (-1, 8))
    loaded = mlflow.pyfunc.load_model(model_uri)
    np.testing.assert_allclose(
        loaded.predict(x_val), vae.predict(x_val, verbose=0), atol=1e-6
    )
    assert [
        m
        for m in messages(mlflow_warnings)
        if ARTIFACT_PATH_DEPRECATION not in m
    ] == []


_LOAD_IN_A_FRESH_PROCESS = """
import sys

import mlflow
import numpy as np

model_uri, x_path, out_path = sys.argv[1:]
try:
    mlflow.keras.load_model(model_uri)
except TypeError as error:
    print("without keras_vae:", str(error)[:60])

import keras_vae  # Registers the VAE and its parts with Keras.

vae = mlflow.keras.load_model(model_uri)
pyfunc = mlflow.pyfunc.load_model(model_uri)
x = np.load(x_path)
np.savez(
    out_path,
    keras=vae.predict(x, verbose=0),
    pyfunc=pyfunc.predict(x),
    z_mean=vae.encode(x)[0],
)
print(type(vae).__name__)
"""


def test_a_logged_vae_loads_in_a_fresh_process(store, data):
    x_train, x_val = data
    mlflow.keras.autolog()
    vae = tiny_vae()
    with mlflow.start_run():
        vae.fit(x_train, epochs=1, verbose=0)
    model_uri = mlflow.last_logged_model().model_uri
    np.save(store / "x.npy", x_val)
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_LOAD_IN_A_FRESH_PROCESS)]
        + [model_uri, str(store / "x.npy"), str(store / "out.npz")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "without keras_vae: Could not locate class 'VAE'" in result.stdout
    assert result.stdout.strip().endswith("VAE")
    out = np.load(store / "out.npz")
    expected = vae.predict(x_val, verbose=0)
    np.testing.assert_allclose(out["keras"], expected, atol=1e-6)
    np.testing.assert_allclose(out["pyfunc"], expected, atol=1e-6)
    np.testing.assert_allclose(out["z_mean"], vae.encode(x_val)[0], atol=1e-6)


@pytest.mark.tensorflow_only
def test_tensorflow_autolog_checkpoints_the_weights(
    store, mlflow_warnings, data
):
    # A VAE saves to `.keras` only, and MLflow's checkpoints are `.h5`:
    # weights-only checkpoints are `.weights.h5`, which a VAE writes.
    x_train, x_val = data
    mlflow.tensorflow.autolog(
        checkpoint_save_weights_only=True, log_models=False
    )
    vae = tiny_vae()
    with mlflow.start_run() as run:
        vae.fit(x_train, validation_data=x_val, epochs=1, verbose=0)
    artifacts = mlflow.artifacts.list_artifacts(
        run_id=run.info.run_id, artifact_path="checkpoints"
    )
    assert "checkpoints/latest_checkpoint.weights.h5" in {
        a.path for a in artifacts
    }
    # The checkpoint holds the optimizer's state too: a new model builds
    # its optimizer before it loads one.
    restored = tiny_vae()
    restored.optimizer.build(restored.trainable_variables)
    mlflow.tensorflow.load_checkpoint(model=restored, run_id=run.info.run_id)
    np.testing.assert_allclose(
        restored.predict(x_val, verbose=0),
        vae.predict(x_val, verbose=0),
        atol=1e-6,
    )
    assert messages(mlflow_warnings) == []


@pytest.mark.tensorflow_only
def test_tensorflow_autolog_default_checkpoints_fail_as_reported(
    store, mlflow_warnings, data
):
    # What the recipe avoids: the full-model `.h5` checkpoint is refused
    # (by `VAE.save`), once per epoch that would save one.
    x_train, x_val = data
    mlflow.tensorflow.autolog(log_models=False)
    with mlflow.start_run():
        tiny_vae().fit(x_train, validation_data=x_val, epochs=1, verbose=0)
    assert any(
        "A VAE saves to the native Keras format only" in m
        for m in messages(mlflow_warnings)
    )
