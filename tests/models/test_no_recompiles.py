"""`fit` with a per-batch callback runs one step per execution, and the
compiled number without: neither traces nor compiles its step again on
later calls, whichever way it switches (`FunctionPerSteps`)."""

import keras
import numpy as np
import pytest
from backend_defaults import STEPS_PER_EXECUTION
from trace_counting import jax_compiles
from trace_counting import trace_counting

import keras_vae

pytestmark = pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="PyTorch steps eagerly, one step per execution: nothing to trace",
)


class BatchCounter(keras.callbacks.Callback):
    """A callback with a per-batch hook: `fit` runs one step per
    execution for it."""

    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def counting_vae(learning_rate=1e-3):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    counting = trace_counting(vae)
    counting.compile(optimizer=keras.optimizers.Adam(learning_rate))
    assert counting.steps_per_execution == STEPS_PER_EXECUTION
    return counting


def examples(n, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 8)).astype("float32")


def test_three_fits_with_a_per_batch_callback_trace_the_step_once():
    vae = counting_vae()
    x, val = examples(320), examples(64, seed=1)
    counter = BatchCounter()
    kwargs = dict(batch_size=32, validation_data=(val,), verbose=0)
    vae.fit(x, epochs=1, callbacks=[counter], **kwargs)
    first = vae.traces()
    assert first[0] > 0 and first[1] > 0
    with jax_compiles() as compiles:
        for _ in range(2):
            vae.fit(x, epochs=1, callbacks=[counter], **kwargs)
            assert vae.traces() == first
    assert compiles == []
    # Every batch reached the callback; the compiled number is back.
    assert counter.batches == 3 * 10
    assert int(vae.optimizer.iterations) == 3 * 10
    assert vae.steps_per_execution == STEPS_PER_EXECUTION


def test_switching_between_the_fast_path_and_one_step_traces_nothing_new():
    vae = counting_vae()
    x = examples(320)
    counter = BatchCounter()
    # Each number of steps per execution once: with the callback (one),
    # without (the compiled number), an evaluation.
    vae.fit(x, batch_size=32, callbacks=[counter], verbose=0)
    vae.fit(x, batch_size=32, verbose=0)
    vae.evaluate(x, batch_size=32, verbose=0)
    first = vae.traces()
    with jax_compiles() as compiles:
        for callbacks in ([counter], [], [counter], []):
            vae.fit(x, batch_size=32, callbacks=callbacks, verbose=0)
            vae.evaluate(x, batch_size=32, verbose=0)
    assert vae.traces() == first
    assert compiles == []
    assert counter.batches == 3 * 10
    assert int(vae.optimizer.iterations) == 6 * 10


def test_compile_again_drops_the_functions_it_kept():
    vae = counting_vae()
    x = examples(320)
    callbacks = [BatchCounter()]
    vae.fit(x, batch_size=32, callbacks=callbacks, verbose=0)
    vae.fit(x, batch_size=32, verbose=0)
    traces = vae.traces()
    # A learning rate of zero: a step kept from before would still train.
    vae.compile(optimizer=keras.optimizers.Adam(0.0))
    weights = [w.copy() for w in vae.get_weights()]
    vae.fit(x, batch_size=32, callbacks=callbacks, verbose=0)
    vae.fit(x, batch_size=32, verbose=0)
    assert vae.traces()[0] > traces[0]
    for before, after in zip(weights, vae.get_weights()):
        np.testing.assert_array_equal(before, after)
