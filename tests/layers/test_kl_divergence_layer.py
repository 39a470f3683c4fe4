"""The closed-form KL term and its non-trainable `beta` weight."""

import hypothesis.extra.numpy as hnp
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops
from layer_test_case import run_layer_test

from keras_vae.layers import KLDivergenceLayer

tfd = tfp.distributions


def reference_kl_loss(mean, log_var, beta):
    """beta * batch mean of KL(N(mean, var) || N(0, 1)), summed over all
    non-batch axes, by TFP in float64."""
    q = tfd.Normal(
        mean.astype("float64"), np.exp(0.5 * log_var.astype("float64"))
    )
    p = tfd.Normal(np.float64(0.0), np.float64(1.0))
    kl = tfd.kl_divergence(q, p).numpy()
    return beta * kl.reshape(kl.shape[0], -1).sum(axis=1).mean()


def test_layer_basics():
    run_layer_test(
        KLDivergenceLayer,
        init_kwargs={"beta": 0.5},
        input_shapes=[(4, 3), (4, 3)],
        expected_output_shapes=[(4, 3), (4, 3)],
        expected_num_losses=1,
        expected_num_seed_generators=0,
    )


@st.composite
def gaussian_parameters(draw):
    shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, max_side=6))
    elements = st.floats(-5, 5, width=32)
    mean = draw(hnp.arrays("float32", shape, elements=elements))
    log_var = draw(hnp.arrays("float32", shape, elements=elements))
    beta = draw(st.floats(0, 4))
    return mean, log_var, beta


# The autouse fixture only reseeds and resets the dtype policy, which is
# harmless to share between the examples of one test.
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(gaussian_parameters())
def test_loss_matches_tfp_kl_divergence(params):
    mean, log_var, beta = params
    layer = KLDivergenceLayer(beta=beta)
    layer([mean, log_var])
    (loss,) = layer.losses
    expected = reference_kl_loss(mean, log_var, beta)
    # float32 arithmetic on terms up to exp(5) ~ 148 per element: 1e-4
    # relative, plus an absolute floor for losses near 0 (1 + lv - exp(lv)
    # cancels to about 1e-7 per element there).
    np.testing.assert_allclose(
        float(loss), expected, rtol=1e-4, atol=1e-5 * mean.size
    )


def test_known_value():
    # KL(N(1, 1) || N(0, 1)) = 0.5 per dimension; KL(N(0, e) || N(0, 1)) =
    # 0.5 * (e - 1 - 1) per dimension.
    layer = KLDivergenceLayer(beta=2.0)
    mean = np.array([[1.0, 1.0], [0.0, 0.0]], "float32")
    log_var = np.array([[0.0, 0.0], [1.0, 1.0]], "float32")
    layer([mean, log_var])
    expected = 2.0 * (1.0 + (np.e - 2.0)) / 2
    np.testing.assert_allclose(float(layer.losses[0]), expected, rtol=1e-6)


def test_beta_is_a_non_trainable_variable():
    layer = KLDivergenceLayer(beta=0.25)
    assert layer.beta == 0.25
    assert layer.trainable_weights == []
    assert [w.path for w in layer.non_trainable_weights] == [
        layer.beta_variable.path
    ]
    assert float(layer.beta_variable.numpy()) == 0.25


@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
def test_assigning_beta_changes_the_loss_without_retracing():
    layer = KLDivergenceLayer(beta=1.0)
    mean = tf.constant([[1.0, -2.0], [0.5, 0.0]])
    log_var = tf.constant([[0.0, 0.3], [-1.0, 2.0]])
    traces = 0

    @tf.function
    def kl_loss(mean, log_var):
        nonlocal traces
        traces += 1
        layer([mean, log_var])
        return layer.losses[0]

    full = float(kl_loss(mean, log_var))
    layer.beta = 0.5
    half = float(kl_loss(mean, log_var))
    layer.beta = 0.0
    zero = float(kl_loss(mean, log_var))
    assert traces == 1
    np.testing.assert_allclose(
        full, reference_kl_loss(mean.numpy(), log_var.numpy(), 1.0), rtol=1e-6
    )
    np.testing.assert_allclose(half, 0.5 * full, rtol=1e-6)
    assert zero == 0.0


@pytest.mark.parametrize(
    "beta", [-1.0, -1e-9, float("nan"), float("inf"), "large", None, True]
)
def test_invalid_beta_raises(beta):
    with pytest.raises(ValueError, match="Received: beta="):
        KLDivergenceLayer(beta=beta)


def test_invalid_beta_assignment_raises_and_keeps_the_old_value():
    layer = KLDivergenceLayer(beta=0.75)
    with pytest.raises(ValueError, match="Received: beta="):
        layer.beta = -2
    assert layer.beta == 0.75


def test_inputs_pass_through_unchanged():
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(3, 4)).astype("float32")
    log_var = rng.normal(size=(3, 4)).astype("float32")
    out_mean, out_log_var = KLDivergenceLayer()([mean, log_var])
    np.testing.assert_array_equal(ops.convert_to_numpy(out_mean), mean)
    np.testing.assert_array_equal(ops.convert_to_numpy(out_log_var), log_var)


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="Received: z_mean.shape="):
        KLDivergenceLayer()([np.zeros((2, 3)), np.zeros((2, 4))])


def test_config_round_trip():
    layer = KLDivergenceLayer(beta=3.5, name="kl")
    revived = KLDivergenceLayer.from_config(layer.get_config())
    assert revived.beta == 3.5
    assert revived.name == "kl"
    assert revived.get_config() == layer.get_config()


def test_mixed_float16_loss_is_float32():
    keras.config.set_dtype_policy("mixed_float16")
    layer = KLDivergenceLayer()
    assert layer.compute_dtype == "float16"
    mean = np.array([[1.0, -0.5, 2.0]], "float16")
    log_var = np.array([[0.2, -3.0, 1.5]], "float16")
    out_mean, _ = layer([mean, log_var])
    assert keras.backend.standardize_dtype(out_mean.dtype) == "float16"
    (loss,) = layer.losses
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    np.testing.assert_allclose(
        float(loss), reference_kl_loss(mean, log_var, 1.0), rtol=1e-6
    )
