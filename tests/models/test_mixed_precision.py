"""Mixed precision: the loss terms stay float32, the loss scale really
scales the float16 backward pass and is divided out of the update, and
training stays finite and close to float32.

The 10-epoch MNIST comparison is `benchmarks.training.mixed_precision`
(docs/benchmarks/mixed_precision.md): float16 matmuls are emulated on CPU."""

import argparse
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import ops
from shared_data import MNIST_NPZ

import keras_vae

POLICIES = ["mixed_float16", "mixed_bfloat16"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def set_policy():
    """Sets a global dtype policy for the test and always restores
    float32, even when the test fails."""
    try:
        yield keras.config.set_dtype_policy
    finally:
        keras.config.set_dtype_policy("float32")


def tiny_vae():
    return keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )


@pytest.mark.parametrize("policy", POLICIES)
def test_loss_terms_are_float32_while_the_layers_are_not(
    policy, set_policy, vectors
):
    set_policy(policy)
    vae = tiny_vae()
    compute_dtype = policy.removeprefix("mixed_")
    assert vae.decoder.get_layer("params").compute_dtype == compute_dtype
    assert vae.decoder.get_layer("params").kernel.dtype == "float32"
    params = vae.decoder(vectors[:4, :2])
    assert keras.backend.standardize_dtype(params.dtype) == compute_dtype
    loss, reconstruction_loss, kl_loss = vae.compute_losses(
        vectors[:4], training=True
    )
    for term in (loss, reconstruction_loss, kl_loss):
        assert keras.backend.standardize_dtype(term.dtype) == "float32"
    # The Gaussian head and the KL run in float32 too.
    assert vae.encoder.get_layer("z_log_var").compute_dtype == "float32"
    dtypes = {keras.backend.standardize_dtype(t.dtype) for t in vae.losses}
    assert dtypes == {"float32"}


def test_mixed_float16_wraps_the_optimizer_in_a_loss_scale(set_policy):
    set_policy("mixed_float16")
    vae = tiny_vae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    assert isinstance(vae.optimizer, keras.optimizers.LossScaleOptimizer)
    set_policy("mixed_bfloat16")  # bfloat16 has float32's range: no scale.
    vae = tiny_vae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    assert not isinstance(vae.optimizer, keras.optimizers.LossScaleOptimizer)


def test_a_loss_scale_too_large_overflows_float16_and_is_lowered(
    set_policy, vectors
):
    set_policy("mixed_float16")
    vae = tiny_vae()
    optimizer = keras.optimizers.LossScaleOptimizer(
        keras.optimizers.SGD(0.1), initial_scale=2.0**40
    )
    vae.compile(optimizer=optimizer, steps_per_execution=1)
    kernel = vae.decoder.get_layer("params").kernel
    before = ops.convert_to_numpy(kernel).copy()
    vae.fit(vectors[:16], epochs=1, batch_size=16, verbose=0)
    # The scaled gradients overflowed float16's 65504 (a loss of ~6 times
    # 2**40): the step was skipped and the scale halved. Without
    # `scale_loss` the backward pass would not have seen the scale.
    assert float(optimizer.dynamic_scale) == 2.0**39
    np.testing.assert_array_equal(ops.convert_to_numpy(kernel), before)
    history = vae.fit(vectors, epochs=10, batch_size=16, verbose=0)
    scale = float(optimizer.dynamic_scale)
    assert scale < 2.0**30 and np.log2(scale) == int(np.log2(scale))
    assert not np.array_equal(ops.convert_to_numpy(kernel), before)
    assert np.all(np.isfinite(history.history["loss"]))


def test_the_update_is_the_float32_one(set_policy, vectors):
    """One SGD step under mixed_float16 (loss scale 2**15, divided out)
    moves the weights as the float32 step does, to float16 precision."""
    updates = {}
    weights = None
    for policy in ("float32", "mixed_float16"):
        set_policy(policy)
        vae = tiny_vae()
        if weights is None:
            weights = vae.get_weights()
        vae.set_weights(weights)
        vae.compile(optimizer=keras.optimizers.SGD(0.1))
        vae.fit(vectors, epochs=1, batch_size=64, shuffle=False, verbose=0)
        updates[policy] = [w - w0 for w, w0 in zip(vae.get_weights(), weights)]
    assert isinstance(vae.optimizer, keras.optimizers.LossScaleOptimizer)
    assert float(vae.optimizer.dynamic_scale) == 2.0**15
    for full, mixed in zip(updates["float32"], updates["mixed_float16"]):
        # An unscaled update would be 32768 times larger.
        np.testing.assert_allclose(
            mixed, full, rtol=0.05, atol=2e-3 * np.abs(full).max() + 1e-9
        )
    moved = sum(float(np.abs(u).sum()) for u in updates["float32"])
    assert moved > 0


@pytest.mark.parametrize("policy", POLICIES)
def test_training_is_finite_and_close_to_float32(policy, set_policy, vectors):
    final = {}
    for p in ("float32", policy):
        set_policy(p)
        keras.utils.set_random_seed(0)
        vae = tiny_vae()
        vae.compile(optimizer=keras.optimizers.Adam(1e-2))
        history = vae.fit(
            vectors, epochs=20, batch_size=16, shuffle=False, verbose=0
        )
        assert np.all(np.isfinite(history.history["loss"]))
        assert np.all(np.isfinite(ops.convert_to_numpy(vae.weights[1])))
        final[p] = history.history["loss"][-1]
    # 20 epochs of 4 steps lower the loss by well over the tolerance.
    assert final[policy] == pytest.approx(final["float32"], rel=0.02)


@pytest.mark.large
@pytest.mark.skipif(MNIST_NPZ is None, reason="no mnist.npz to train on")
def test_mnist_final_loss_within_one_percent_of_float32(monkeypatch):
    """The benchmark's run: 784-400-20, 10 epochs of full MNIST, batch 128,
    Adam(1e-3), same initial weights under each policy (~4 min on CPU)."""
    monkeypatch.syspath_prepend(str(ROOT))  # The `benchmarks` package.
    from benchmarks.training import mixed_precision as benchmark

    (x, _), _ = keras_vae.datasets.load_mnist(path=MNIST_NPZ)
    keras.utils.set_random_seed(0)
    weights = keras_vae.build_mlp_vae(seed=0).get_weights()
    args = argparse.Namespace(epochs=10, batch_size=128, lr=1e-3, seed=0)
    final = {
        p: benchmark.train(p, x, weights, args)[0] for p in benchmark.POLICIES
    }
    for policy in POLICIES:
        assert final[policy] == pytest.approx(final["float32"], rel=0.01)
    # Ten epochs get the loss far below its start, 784 * log(2) = 543.
    assert final["float32"] < 110
