"""Everyday Keras calls behave on a VAE as on any Keras model, under the
defaults of `VAE.compile` (32 steps per execution, XLA)."""

import os
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from backend_defaults import MULTI_STEP
from backend_defaults import STEPS_PER_EXECUTION

import keras_vae

# Keras's own warnings for any model fed a dataset or a generator.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Your input ran out of data"),
    pytest.mark.filterwarnings("ignore:`shuffle=True` was passed"),
]


@pytest.fixture
def x():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(256, 28, 28, 1)).astype("float32")


def vae(steps_per_execution=None, **compile_kwargs):
    keras.utils.set_random_seed(0)
    model = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0
    )
    model.compile(
        optimizer="adam",
        steps_per_execution=steps_per_execution,
        **compile_kwargs,
    )
    return model


def generator(x):
    while True:
        for i in range(0, len(x), 32):
            yield (x[i : i + 32],)


@pytest.mark.parametrize(
    "make_data, steps_per_epoch, expected",
    [
        (
            lambda x: tf.data.Dataset.from_tensor_slices(x).batch(32).repeat(),
            5,
            10,
        ),
        # A finite dataset of 8 batches: its iterator carries on across
        # epochs, and the second runs out after 2; arrays start afresh.
        (lambda x: tf.data.Dataset.from_tensor_slices(x).batch(32), 6, 8),
        (lambda x: x, 6, 12),
        (lambda x: tf.data.Dataset.from_tensor_slices(x).batch(32), 12, 16),
        (generator, 16, 32),
    ],
    ids=["repeated-dataset", "dataset", "arrays", "dataset-12", "generator"],
)
def test_steps_per_epoch_runs_exactly_the_steps_asked(
    x, make_data, steps_per_epoch, expected
):
    iterations = []
    for steps_per_execution in (None, 1):  # Our default, Keras's default.
        model = vae(steps_per_execution)
        model.fit(
            make_data(x), epochs=2, steps_per_epoch=steps_per_epoch, verbose=0
        )
        iterations.append(int(model.optimizer.iterations))
        assert model.steps_per_execution == (
            steps_per_execution or STEPS_PER_EXECUTION
        )
    assert iterations == [expected, expected]


def test_steps_of_evaluate_and_predict_are_exact(x):
    model = vae()
    seen = []

    class CountBatches(keras.callbacks.Callback):
        def on_predict_end(self, logs=None):
            seen.append("end")

    dataset = tf.data.Dataset.from_tensor_slices(x).batch(32)
    assert model.predict(dataset, steps=5, verbose=0).shape[0] == 5 * 32
    # Evaluate on 3 of 8 batches: the means of those 3 batches alone.
    three = model.evaluate(dataset, steps=3, verbose=0, return_dict=True)
    first = model.evaluate(x[:96], verbose=0, return_dict=True)
    # Fresh noise per call: equal only in expectation, so compare loosely
    # with a reference that differs clearly (all 8 batches).
    assert three["reconstruction_loss"] == pytest.approx(
        first["reconstruction_loss"], rel=2e-3
    )


def test_train_on_batch_under_the_default_compile(x):
    fused, single = vae(), vae(steps_per_execution=1)
    logs = fused.train_on_batch(x[:32], return_dict=True)
    reference = single.train_on_batch(x[:32], return_dict=True)
    assert int(fused.optimizer.iterations) == 1
    assert logs["loss"] == pytest.approx(
        logs["reconstruction_loss"] + logs["kl_loss"], rel=1e-6
    )
    assert logs == pytest.approx(reference, rel=1e-5)
    for a, b in zip(fused.weights, single.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
    test_logs = fused.test_on_batch(x[:32], return_dict=True)
    assert set(test_logs) == {
        "loss",
        "reconstruction_loss",
        "kl_loss",
        "bits_per_dim",
    }
    dims = np.prod(fused.data_shape)
    assert test_logs["bits_per_dim"] == pytest.approx(
        test_logs["loss"] / (dims * np.log(2)), rel=1e-6
    )


def test_a_callback_stops_training_at_the_batch_it_asks(x, capsys):
    class StopAtBatch2(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                self.model.stop_training = True

    model = vae()
    model.fit(x, epochs=3, batch_size=32, callbacks=[StopAtBatch2()])
    assert int(model.optimizer.iterations) == 3
    # Restored after fit.
    assert model.steps_per_execution == STEPS_PER_EXECUTION
    output = capsys.readouterr().out
    assert "3/8" in output and "8/8" not in output and "32/8" not in output
    assert "Epoch 2/3" not in output


@MULTI_STEP
def test_a_callback_that_opts_in_keeps_the_fast_path(x):
    batches = []

    class PerExecution(keras.callbacks.Callback):
        batch_hooks_per_execution = True

        def on_train_batch_end(self, batch, logs=None):
            batches.append(batch)

    vae().fit(x, epochs=1, batch_size=8, verbose=0, callbacks=[PerExecution()])
    assert batches == [31]  # 32 batches of 8, one execution.


def test_a_frozen_vae_trains_nothing_and_reports_the_loss(x):
    model = vae()
    before = [w.numpy() for w in model.weights]
    model.trainable = False
    model.compile(optimizer="adam")
    # Keras warns on TensorFlow and JAX; its PyTorch trainer does not.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(x, epochs=1, batch_size=32, verbose=0)
    if keras.backend.backend() != "torch":
        assert any(
            "does not have any trainable" in str(w.message) for w in caught
        )
    for a, b in zip(before, model.weights):
        np.testing.assert_array_equal(a, b.numpy())
    loss = history.history["loss"][0]
    assert loss == pytest.approx(
        history.history["reconstruction_loss"][0]
        + history.history["kl_loss"][0],
        rel=1e-5,
    )
    # 784 Bernoulli pixels near p = 0.5: about 784 * log(2) nats.
    assert 500 < loss < 600


def test_compiled_metrics_compare_x_with_the_reconstruction(x):
    model = vae(metrics=["mae", keras.metrics.MeanSquaredError(name="mse")])
    history = model.fit(
        x[:192], epochs=1, batch_size=32, validation_data=x[192:], verbose=0
    )
    assert {"mae", "mse", "val_mae", "val_mse"} <= set(history.history)
    results = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    reconstruction = model.predict(x, batch_size=32, verbose=0)
    assert results["mae"] == pytest.approx(
        float(np.mean(np.abs(x - reconstruction))), rel=1e-5
    )
    assert results["mse"] == pytest.approx(
        float(np.mean((x - reconstruction) ** 2)), rel=1e-5
    )
    assert results["loss"] == pytest.approx(
        results["reconstruction_loss"] + results["kl_loss"], rel=1e-5
    )


def test_class_weight_is_refused(x):
    with pytest.raises(ValueError, match=r"Received: class_weight=\{0: 5"):
        vae().fit(x, class_weight={0: 5.0}, verbose=0)


def test_a_dataset_of_dicts_gets_a_clear_error(x):
    dataset = tf.data.Dataset.from_tensor_slices({"x": x}).batch(32)
    with pytest.raises(ValueError, match=r"d\['x'\].*keys \['x'\]"):
        vae().fit(dataset, verbose=0)
    with pytest.raises(ValueError, match=r"x\['x'\].*keys \['x'\]"):
        vae().evaluate({"x": x}, verbose=0)


def test_an_unbatched_dataset_gets_a_clear_error(x):
    dataset = tf.data.Dataset.from_tensor_slices(x)
    with pytest.raises(ValueError, match=r"not batches.*\.batch\(32\)"):
        vae().fit(dataset, verbose=0)


def test_a_list_of_one_array_is_that_array(x):
    a, b = vae(), vae()
    history_a = a.fit([x], epochs=1, shuffle=False, verbose=0).history
    history_b = b.fit(x, epochs=1, shuffle=False, verbose=0).history
    for name, values in history_b.items():
        assert history_a[name] == pytest.approx(values, rel=1e-6)
    assert a.predict([x[:4]], verbose=0).shape == (4, 28, 28, 1)


def test_h5_saving_is_refused_and_writes_nothing(x, tmp_path):
    path = tmp_path / "m.h5"
    with pytest.raises(ValueError, match="Received: filepath=.*m.h5"):
        vae().save(path)
    assert not os.listdir(tmp_path)
    model = vae()
    model.fit(x, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")  # The format that loads.
    again = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(
        again.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0)
    )


def test_mean_encoder_reuses_the_encoder_without_the_kl(x):
    model = vae()
    model.fit(x, epochs=1, verbose=0)
    features = model.mean_encoder
    np.testing.assert_allclose(
        features.predict(x[:16], verbose=0), model.encode(x[:16])[0], atol=1e-6
    )
    shared = {id(v) for v in model.encoder.weights}
    assert {id(v) for v in features.weights} <= shared
    logits = keras.layers.Dense(10)(features.output)
    classifier = keras.Model(features.inputs, logits)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    classifier.compile(optimizer="adam", loss=cross_entropy)
    y = np.random.default_rng(0).integers(0, 10, len(x))
    loss = classifier.evaluate(x, y, verbose=0)
    expected = cross_entropy(y, classifier.predict(x, verbose=0))
    assert loss == pytest.approx(float(expected), rel=1e-5)
    # Reusing `vae.encoder` itself adds the VAE's KL to the loss.
    z_mean = model.encoder(classifier.inputs[0])[0]
    with_kl = keras.Model(classifier.inputs, keras.layers.Dense(10)(z_mean))
    with_kl.compile(optimizer="adam", loss=cross_entropy)
    extra = with_kl.evaluate(x, y, verbose=0) - float(
        cross_entropy(y, with_kl.predict(x, verbose=0))
    )
    kl = model.evaluate(x, verbose=0, return_dict=True)["kl_loss"]
    assert kl > 0.01
    assert extra == pytest.approx(kl, rel=1e-3)


def test_compute_output_shape_is_that_of_x():
    assert vae().compute_output_shape((None, 28, 28, 1)) == (None, 28, 28, 1)


def test_an_uncompiled_vae_predicts_as_any_keras_model(x):
    # Keras models predict before `compile`; so does a VAE, with the
    # deterministic reconstruction its `reconstruct` returns.
    model = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0
    )
    predicted = model.predict(x[:10], batch_size=4, verbose=0)
    np.testing.assert_allclose(predicted, model.reconstruct(x[:10]), atol=1e-6)
    assert predicted.shape == (10, 28, 28, 1)


@pytest.mark.skipif(
    keras.backend.backend() != "torch",
    reason="`jit_compile=True` is torch.compile on PyTorch only",
)
def test_jit_compile_on_pytorch_is_refused_and_a_saved_one_falls_back():
    with pytest.raises(ValueError, match="Received: jit_compile=True"):
        vae(jit_compile=True)
    # A model compiled with XLA on JAX or TensorFlow saves
    # `jit_compile=True`; here it loads and steps eagerly.
    config = vae().get_compile_config()
    config["jit_compile"] = True
    loaded = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), latent_dim=4, hidden_units=(32,)
    )
    with pytest.warns(UserWarning, match="takes the backend's default"):
        loaded.compile_from_config(config)
    assert loaded.compiled and loaded.jit_compile is False
    assert loaded.get_compile_config()["jit_compile"] is None
