"""The progress bar counts exactly the batches that ran, under the default
`steps_per_execution` (32; 1 on PyTorch): 63/63 for an epoch of 63
batches, never 64/63."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from backend_defaults import STEPS_PER_EXECUTION

import keras_vae


@pytest.fixture
def progbar_updates(monkeypatch):
    """Every `(current, target, finalize)` a Keras progress bar shows."""
    updates = []
    update = keras.utils.Progbar.update

    def recording_update(self, current, values=None, finalize=None):
        updates.append((current, self.target, finalize))
        return update(self, current, values, finalize)

    monkeypatch.setattr(keras.utils.Progbar, "update", recording_update)
    return updates


def fitted_vae(data, **fit_kwargs):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    vae.compile(optimizer="adam")
    assert vae.steps_per_execution == STEPS_PER_EXECUTION
    history = vae.fit(data, verbose=1, **fit_kwargs)
    return vae, history


def progress(num_batches):
    """The counts the bar shows in an epoch: the end of each execution of
    `STEPS_PER_EXECUTION` steps, the last (short) one, then the final
    line."""
    full = range(STEPS_PER_EXECUTION, num_batches, STEPS_PER_EXECUTION)
    return [*full, num_batches, num_batches]


def examples(n):
    rng = np.random.default_rng(0)
    return rng.uniform(size=(n, 8)).astype("float32")


def unknown_length(dataset):
    dataset = dataset.filter(lambda _: True)
    assert dataset.cardinality() == tf.data.UNKNOWN_CARDINALITY
    return dataset


@pytest.mark.parametrize(
    "make_data",
    [
        # 2016 = 63 full batches of 32; 2000 = 62 and a short one of 16.
        lambda: (examples(2016), {"batch_size": 32}),
        lambda: (examples(2000), {"batch_size": 32}),
        lambda: (
            tf.data.Dataset.from_tensor_slices(examples(2000)).batch(32),
            {},
        ),
        lambda: (
            unknown_length(
                tf.data.Dataset.from_tensor_slices(examples(2000)).batch(32)
            ),
            {},
        ),
    ],
    ids=["arrays", "short-last-batch", "dataset", "unknown-length-dataset"],
)
@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_fit_counts_63_of_63(make_data, progbar_updates, capsys):
    data, kwargs = make_data()
    vae, history = fitted_vae(data, epochs=2, shuffle=False, **kwargs)
    assert int(vae.optimizer.iterations) == 2 * 63
    currents = [current for current, _, _ in progbar_updates]
    # Each epoch: the first execution of 32 steps, the last of 31, then the
    # final line at the target.
    assert currents == progress(63) * 2
    epoch = len(progress(63))
    for current, target, _ in progbar_updates[epoch:]:
        assert target == 63 and current <= target
    # Learned in the first epoch if unknown.
    assert progbar_updates[epoch - 1][1] == 63
    output = capsys.readouterr().out
    assert "63/63" in output and "64/63" not in output
    assert "64/" not in output


def test_logged_values_are_those_of_the_batches_seen():
    x = examples(2000)
    vae, history = fitted_vae(x, epochs=1, batch_size=32, shuffle=False)
    # The epoch's loss is the mean over the 2000 examples seen, each batch
    # weighted by its size: equal to the trackers' exact totals.
    assert history.history["loss"][0] == pytest.approx(
        float(vae.loss_tracker.result()), rel=1e-6
    )
    assert float(vae.loss_tracker.count) == 2000


@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_evaluate_and_predict_count_exactly(progbar_updates):
    x = examples(2000)
    vae, _ = fitted_vae(x, epochs=1, batch_size=32)
    progbar_updates.clear()
    vae.evaluate(x, batch_size=32, verbose=1)
    assert [c for c, _, _ in progbar_updates] == progress(63)
    progbar_updates.clear()
    dataset = unknown_length(tf.data.Dataset.from_tensor_slices(x).batch(32))
    vae.evaluate(dataset, verbose=1)
    assert [c for c, _, _ in progbar_updates] == progress(63)
    progbar_updates.clear()
    predictions = vae.predict(x, batch_size=32, verbose=1)
    assert predictions.shape == x.shape
    assert max(c for c, _, _ in progbar_updates) == 63
    assert all(c <= t for c, t, _ in progbar_updates)
