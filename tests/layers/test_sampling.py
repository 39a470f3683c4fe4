"""The reparameterized draw `z = mean + exp(0.5 * log_var) * epsilon`."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from layer_test_case import run_layer_test

import keras_vae
from keras_vae.layers import Sampling


def test_layer_basics():
    run_layer_test(
        Sampling,
        init_kwargs={"seed": 7},
        input_shapes=[(4, 3), (4, 3)],
        expected_output_shapes=[(4, 3)],
        expected_num_losses=0,
        expected_num_seed_generators=1,
    )


def test_moments_match_the_gaussian():
    n = 200_000
    mean = np.array([1.5, -2.0, 0.0], "float32")
    log_var = np.array([-1.0, 0.7, 0.0], "float32")
    z = Sampling(seed=1)([np.tile(mean, (n, 1)), np.tile(log_var, (n, 1))])
    z = ops.convert_to_numpy(z).astype("float64")
    var = np.exp(log_var.astype("float64"))
    # Standard errors of the sample mean and variance of a Gaussian; 5 of
    # them is a one-in-a-million miss, and the draw is seeded anyway.
    mean_se = np.sqrt(var / n)
    var_se = var * np.sqrt(2.0 / (n - 1))
    assert np.all(np.abs(z.mean(axis=0) - mean) < 5 * mean_se)
    assert np.all(np.abs(z.var(axis=0, ddof=1) - var) < 5 * var_se)


@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
def test_gradients_are_the_reparameterization():
    mean = tf.Variable([[0.3, -1.2], [2.0, 0.0]])
    log_var = tf.Variable([[0.5, -2.0], [1.0, 0.0]])
    layer = Sampling(seed=3)
    with tf.GradientTape() as tape:
        z = layer([mean, log_var])
    d_mean, d_log_var = tape.gradient(z, [mean, log_var])
    z = z.numpy()
    sigma = np.exp(0.5 * log_var.numpy())
    epsilon = (z - mean.numpy()) / sigma
    np.testing.assert_allclose(d_mean.numpy(), np.ones((2, 2)))
    np.testing.assert_allclose(
        d_log_var.numpy(), 0.5 * sigma * epsilon, rtol=1e-5, atol=1e-7
    )
    # Not a degenerate draw that would make the check above vacuous.
    assert np.all(np.abs(epsilon) > 1e-3)


def test_same_seed_same_draws_different_seed_different_draws():
    inputs = [np.zeros((5, 4), "float32"), np.zeros((5, 4), "float32")]
    a = Sampling(seed=11)
    b = Sampling(seed=11)
    c = Sampling(seed=12)
    first_a = ops.convert_to_numpy(a(inputs))
    np.testing.assert_array_equal(first_a, ops.convert_to_numpy(b(inputs)))
    assert not np.allclose(first_a, ops.convert_to_numpy(c(inputs)))
    # A second call continues the sequence instead of repeating it...
    second_a = ops.convert_to_numpy(a(inputs))
    assert not np.allclose(first_a, second_a)
    # ...and does so identically for both layers of one seed.
    np.testing.assert_array_equal(second_a, ops.convert_to_numpy(b(inputs)))


@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
def test_compiled_function_draws_fresh_noise_each_call():
    layer = Sampling(seed=5)
    inputs = [tf.zeros((3, 2)), tf.zeros((3, 2))]

    @tf.function(jit_compile=True)
    def draw():
        return layer(inputs)

    first, second = draw().numpy(), draw().numpy()
    assert not np.allclose(first, second)


@pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="PyTorch refuses jit_compile=True (test_keras_contract)",
)
def test_jit_compiled_fit_draws_fresh_noise_each_step(vectors):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    # A zero learning rate keeps the weights fixed: any change of the loss
    # from one step to the next can only come from the noise.
    vae.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0), jit_compile=True
    )
    (sampling,) = [
        layer for layer in vae.encoder.layers if isinstance(layer, Sampling)
    ]
    state_before = sampling.seed_generator.state.numpy().copy()
    weights_before = [w.numpy().copy() for w in vae.weights]
    x = vectors[:16]
    history = vae.fit(x, batch_size=16, epochs=4, shuffle=False, verbose=0)
    losses = history.history["reconstruction_loss"]
    assert len(set(losses)) == len(losses), losses
    # KL does not depend on the noise, and the weights did not move.
    np.testing.assert_allclose(
        history.history["kl_loss"], history.history["kl_loss"][0], rtol=1e-6
    )
    for before, after in zip(weights_before, vae.weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert not np.array_equal(
        state_before, sampling.seed_generator.state.numpy()
    )


@pytest.mark.parametrize("seed", ["0", 1.5, True, [1]])
def test_invalid_seed_raises(seed):
    with pytest.raises(ValueError, match="Received: seed="):
        Sampling(seed=seed)
