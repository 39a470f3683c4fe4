"""Training knobs: KL warm-up, free bits, binarization and the IWAE loss."""

import hypothesis.extra.numpy as hnp
import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

import keras_vae
from keras_vae import VAE
from keras_vae.callbacks import KLWarmup
from keras_vae.datasets import binarize
from keras_vae.datasets import dynamic_binarization
from keras_vae.layers import KLDivergenceLayer


class TraceCountingVAE(VAE):
    """A VAE whose `train_step` counts its Python executions: traces."""

    traces = 0

    def train_step(self, *args):
        # `(data)`, or `(state, data)` on JAX.
        self.traces += 1
        return super().train_step(*args)


class BetaRecorder(keras.callbacks.Callback):
    """Records, after each batch, the `beta` its step used (the step assigns
    it to the first KL layer's variable) and the running KL mean."""

    def __init__(self):
        super().__init__()
        self.betas = []
        self.kl_losses = []  # The epoch's running mean after each batch.

    def on_train_batch_end(self, batch, logs=None):
        self.betas.append(self.model.kl_layers[0].beta)
        self.kl_losses.append(float(logs["kl_loss"]))


def counting_vae():
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    counting = TraceCountingVAE(vae.encoder, vae.decoder)
    # One step per call of the training function, so that the callbacks see
    # every step.
    counting.compile(
        optimizer=keras.optimizers.Adam(1e-3), steps_per_execution=1
    )
    return counting


def fit_with_betas(vectors, warmup, epochs, batch_size):
    vae = counting_vae()
    recorder = BetaRecorder()
    callbacks = [recorder] if warmup is None else [warmup, recorder]
    vae.fit(
        vectors,
        batch_size=batch_size,
        epochs=epochs,
        callbacks=callbacks,
        verbose=0,
    )
    vae.recorder = recorder
    return vae, recorder.betas


# --- KL warm-up -------------------------------------------------------------


@pytest.mark.tensorflow_only  # Counts tf.function traces.
def test_kl_warmup_steps_schedule_without_retracing(vectors):
    # 64 examples in batches of 8: 8 full steps per epoch, 16 in all.
    vae, betas = fit_with_betas(
        vectors, KLWarmup(warmup_steps=4), epochs=2, batch_size=8
    )
    np.testing.assert_allclose(
        betas, [0.0, 0.25, 0.5, 0.75] + [1.0] * 12, atol=1e-7
    )
    # The compiled step reads the assigned beta: the first batch's KL term
    # is 0 * KL, the second's is not.
    assert vae.recorder.kl_losses[0] == 0.0
    assert vae.recorder.kl_losses[1] > 0.0
    # Five different betas, yet no more traces than a fit at constant
    # beta: the step reads beta from a variable. (Keras traces the step
    # twice in a first fit, as tf.function does when the first call creates
    # variables; measured 2 with and without warm-up.)
    constant, _ = fit_with_betas(vectors, None, epochs=2, batch_size=8)
    assert vae.traces == constant.traces <= 2
    # A second fit continues from optimizer.iterations (16) with 8 new
    # betas, and reuses the compiled step.
    recorder = BetaRecorder()
    vae.fit(
        vectors,
        batch_size=8,
        epochs=1,
        callbacks=[KLWarmup(warmup_steps=32), recorder],
        verbose=0,
    )
    np.testing.assert_allclose(
        recorder.betas, (16 + np.arange(8)) / 32, atol=1e-7
    )
    assert vae.traces == constant.traces


def test_kl_warmup_with_start_and_target(vectors):
    warmup = KLWarmup(warmup_steps=2, start_beta=0.5, target_beta=2.0)
    _, betas = fit_with_betas(vectors, warmup, epochs=1, batch_size=16)
    np.testing.assert_allclose(betas, [0.5, 1.25, 2.0, 2.0], atol=1e-7)


def test_kl_warmup_epochs_use_the_steps_per_epoch(vectors):
    # 4 steps per epoch, so 2 epochs are 8 steps: beta = step / 8.
    _, betas = fit_with_betas(
        vectors, KLWarmup(warmup_epochs=2), epochs=3, batch_size=16
    )
    expected = np.minimum(np.arange(12) / 8, 1.0)
    np.testing.assert_allclose(betas, expected, atol=1e-7)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"warmup_steps": 4, "warmup_epochs": 2},
        {"warmup_steps": 0},
        {"warmup_steps": 2.5},
        {"warmup_steps": True},
        {"warmup_epochs": -1},
        {"warmup_steps": 4, "target_beta": -1.0},
        {"warmup_steps": 4, "start_beta": float("nan")},
    ],
)
def test_kl_warmup_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="Received"):
        KLWarmup(**kwargs)


def test_kl_warmup_rejects_an_infinite_target():
    with pytest.raises(ValueError, match="Received: target_beta="):
        KLWarmup(warmup_steps=4, target_beta=float("inf"))


def test_kl_warmup_needs_a_vae(vectors):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="Received: model="):
        model.fit(
            vectors,
            vectors[:, :1],
            callbacks=[KLWarmup(warmup_steps=2)],
            verbose=0,
        )


# --- Free bits --------------------------------------------------------------


def numpy_free_bits_loss(mean, log_var, beta, free_bits):
    mean, log_var = mean.astype("float64"), log_var.astype("float64")
    kl = -0.5 * (1 + log_var - mean**2 - np.exp(log_var))
    return beta * np.maximum(free_bits, kl.mean(axis=0)).sum()


def mixed_inputs():
    """Dimension 0 has a batch-mean KL of ~0.005 nats, 1 and 2 of >1."""
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(6, 3)).astype("float32")
    mean[:, 0] *= 0.1
    mean[:, 1:] += 2.0
    log_var = np.zeros((6, 3), "float32")
    log_var[:, 2] = -1.0
    return mean, log_var


def test_free_bits_loss_matches_numpy():
    mean, log_var = mixed_inputs()
    kl = -0.5 * (1 + log_var - mean**2 - np.exp(log_var)).mean(axis=0)
    assert kl[0] < 0.5 < kl[1:].min()  # One dimension under the floor.
    layer = KLDivergenceLayer(beta=0.7, free_bits=0.5)
    layer([mean, log_var])
    assert len(layer.losses) == 1
    np.testing.assert_allclose(
        float(layer.losses[0]),
        numpy_free_bits_loss(mean, log_var, 0.7, 0.5),
        rtol=1e-6,
    )


@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
def test_free_bits_gradient_vanishes_under_the_floor():
    mean, log_var = (tf.constant(a) for a in mixed_inputs())
    layer = KLDivergenceLayer(beta=0.7, free_bits=0.5)
    with tf.GradientTape() as tape:
        tape.watch(mean)
        layer([mean, log_var])
        loss = layer.losses[0]
    gradient = tape.gradient(loss, mean).numpy()
    np.testing.assert_array_equal(gradient[:, 0], 0.0)
    # Above the floor it is the plain KL's gradient: beta * mean / batch.
    np.testing.assert_allclose(
        gradient[:, 1:], 0.7 * mean.numpy()[:, 1:] / 6, rtol=1e-6
    )


def test_zero_free_bits_is_the_plain_kl():
    mean, log_var = mixed_inputs()
    plain = KLDivergenceLayer(beta=0.7)
    plain([mean, log_var])
    expected = 0.7 * float(
        np.mean(
            ops.convert_to_numpy(
                keras_vae.layers.gaussian_kl_divergence(mean, log_var)
            )
        )
    )
    np.testing.assert_allclose(
        float(ops.convert_to_numpy(plain.losses[0])), expected, rtol=1e-6
    )
    np.testing.assert_allclose(
        float(plain.losses[0]),
        numpy_free_bits_loss(mean, log_var, 0.7, 0.0),
        rtol=1e-6,
    )
    # With every dimension above a floor, free bits change nothing.
    floored = KLDivergenceLayer(beta=0.7, free_bits=1e-4)
    floored([mean, log_var])
    np.testing.assert_allclose(
        float(floored.losses[0]), float(plain.losses[0]), rtol=1e-6
    )


@st.composite
def free_bits_cases(draw):
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, max_side=5))
    elements = st.floats(-4, 4, width=32)
    mean = draw(hnp.arrays("float32", shape, elements=elements))
    log_var = draw(hnp.arrays("float32", shape, elements=elements))
    beta = draw(st.floats(0, 3))
    free_bits = draw(st.floats(0, 2))
    return mean, log_var, beta, free_bits


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(free_bits_cases())
def test_free_bits_loss_is_at_least_the_floor(case):
    mean, log_var, beta, free_bits = case
    layer = KLDivergenceLayer(beta=beta, free_bits=free_bits)
    layer([mean, log_var])
    loss = float(layer.losses[0])
    floor = beta * mean.shape[1] * free_bits
    assert loss >= floor * (1 - 1e-6) - 1e-6
    np.testing.assert_allclose(
        loss,
        numpy_free_bits_loss(mean, log_var, beta, free_bits),
        rtol=1e-5,
        atol=1e-5,
    )


def test_free_bits_config_round_trip():
    layer = KLDivergenceLayer(beta=0.3, free_bits=0.25, name="kl")
    config = layer.get_config()
    assert config["free_bits"] == 0.25
    restored = KLDivergenceLayer.from_config(config)
    assert restored.free_bits == 0.25
    assert restored.beta == pytest.approx(0.3)
    mean, log_var = mixed_inputs()
    layer([mean, log_var])
    restored([mean, log_var])
    np.testing.assert_allclose(
        float(restored.losses[0]), float(layer.losses[0]), rtol=1e-7
    )


def test_free_bits_survive_a_keras_file(tmp_path, vectors):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), free_bits=0.2
    )
    path = tmp_path / "free_bits.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert [layer.free_bits for layer in loaded.kl_layers] == [0.2]
    # An untrained encoder's KL is ~0: the floor sets the KL term.
    _, _, kl_loss = loaded.compute_losses(vectors)
    assert float(ops.convert_to_numpy(kl_loss)) >= 2 * 0.2 - 1e-6


@pytest.mark.parametrize("free_bits", [-0.1, float("nan"), float("inf")])
def test_bad_free_bits_raise(free_bits):
    with pytest.raises(ValueError, match="Received: free_bits="):
        KLDivergenceLayer(free_bits=free_bits)


# --- Binarization -----------------------------------------------------------


def test_binarize_matches_the_probabilities():
    x = np.full((100, 1000), 0.3, "float32")
    binary = binarize(x, seed=0)
    assert binary.shape == x.shape
    assert binary.dtype == np.float32
    assert set(np.unique(binary)) <= {0.0, 1.0}
    standard_error = np.sqrt(0.3 * 0.7 / x.size)
    assert abs(binary.mean() - 0.3) < 4 * standard_error
    np.testing.assert_array_equal(binarize(x, seed=0), binary)
    assert not np.array_equal(binarize(x, seed=1), binary)
    # Certain pixels stay certain.
    edges = np.array([[0.0, 1.0] * 50], "float32")
    np.testing.assert_array_equal(binarize(edges, seed=3), edges)


def test_binarize_per_pixel_probabilities():
    # Each column has its own probability; 20k draws per column.
    p = np.linspace(0.0, 1.0, 11, dtype="float32")
    binary = binarize(np.tile(p, (20_000, 1)), seed=2)
    standard_error = np.sqrt(p * (1 - p) / 20_000)
    assert np.all(np.abs(binary.mean(axis=0) - p) <= 4 * standard_error)


def passes(dataset, n):
    return [np.concatenate([b.numpy() for b in dataset]) for _ in range(n)]


def test_dynamic_binarization_draws_afresh_each_epoch():
    x = np.full((10, 50), 0.5, "float32")
    dataset = dynamic_binarization(x, batch_size=4, shuffle=False, seed=0)
    first, second = passes(dataset, 2)
    assert [tuple(b.shape) for b in dataset] == [(4, 50), (4, 50), (2, 50)]
    assert set(np.unique(first)) == {0.0, 1.0}
    assert first.dtype == np.float32
    assert not np.array_equal(first, second)
    # The same seed repeats the first pass; another seed does not.
    again = dynamic_binarization(x, batch_size=4, shuffle=False, seed=0)
    np.testing.assert_array_equal(passes(again, 1)[0], first)
    other = dynamic_binarization(x, batch_size=4, shuffle=False, seed=1)
    assert not np.array_equal(passes(other, 1)[0], first)


def test_dynamic_binarization_mean_matches_the_probabilities():
    x = np.full((200, 100), 0.3, "float32")
    dataset = dynamic_binarization(x, batch_size=64, seed=5)
    draws = np.stack(passes(dataset, 5))  # 100k pixels over 5 epochs.
    standard_error = np.sqrt(0.3 * 0.7 / draws.size)
    assert abs(draws.mean() - 0.3) < 4 * standard_error


def test_dynamic_binarization_shuffles_each_epoch():
    # Rows of an identity matrix binarize to themselves, so each pass must
    # be a permutation of the rows, and a different one on each epoch.
    x = np.eye(16, dtype="float32")
    dataset = dynamic_binarization(x, batch_size=5, shuffle=True, seed=0)
    first, second = passes(dataset, 2)
    for epoch in (first, second):
        np.testing.assert_array_equal(epoch.sum(axis=0), np.ones(16))
    assert not np.array_equal(first, second)


def test_dynamic_binarization_trains_a_vae(tiny_vae, vectors):
    dataset = dynamic_binarization(vectors, batch_size=16, seed=0)
    tiny_vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = tiny_vae.fit(dataset, epochs=2, shuffle=False, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


@pytest.mark.parametrize(
    "x", [np.array([0.5, 1.5]), np.array([-0.1]), np.array([np.nan])]
)
def test_binarization_rejects_values_outside_the_unit_interval(x):
    with pytest.raises(ValueError, match="Received"):
        binarize(x)
    with pytest.raises(ValueError, match="Received"):
        dynamic_binarization(x)


# --- The IWAE objective -----------------------------------------------------


def iwae(**kwargs):
    return keras_vae.build_mlp_vae(
        input_shape=(8,),
        latent_dim=2,
        hidden_units=(16,),
        num_importance_samples=5,
        seed=3,
        **kwargs,
    )


def test_iwae_trains_with_a_finite_loss(vectors):
    vae = iwae()
    assert vae.num_importance_samples == 5
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(vectors, batch_size=16, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]


def test_iwae_bound_is_tighter_than_the_elbo(vectors):
    # Same weights, K=5 against K=1 on 3200 examples: -IWAE < -ELBO.
    vae = iwae()
    elbo_vae = VAE(vae.encoder, vae.decoder, seed=3)
    x = np.tile(vectors, (50, 1))
    loss_k = float(ops.convert_to_numpy(vae.compute_losses(x)[0]))
    loss_1 = float(ops.convert_to_numpy(elbo_vae.compute_losses(x)[0]))
    assert loss_k < loss_1


def test_iwae_config_survives_a_keras_file(tmp_path, vectors):
    vae = iwae()
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(vectors, batch_size=16, epochs=1, verbose=0)
    path = tmp_path / "iwae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, VAE)
    assert loaded.num_importance_samples == 5
    assert loaded.seed == 3
    np.testing.assert_array_equal(
        loaded.reconstruct(vectors), vae.reconstruct(vectors)
    )


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "5"])
def test_bad_num_importance_samples_raise(k):
    with pytest.raises(ValueError, match="Received: num_importance_samples="):
        keras_vae.build_mlp_vae(
            input_shape=(8,),
            latent_dim=2,
            hidden_units=(16,),
            num_importance_samples=k,
        )
