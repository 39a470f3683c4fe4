"""Numerics: extreme encoder outputs and likelihood inputs stay finite, the
KL stays the exact closed form inside the clip range, and a NaN that still
appears stops training with a message that names it."""

import math

import hypothesis.extra.numpy as hnp
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from backend_defaults import MULTI_STEP
from backend_defaults import STEPS_PER_EXECUTION
from gradients import value_and_grad
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from keras import ops

import keras_vae
from keras_vae.callbacks import TerminateOnNaN
from keras_vae.layers import Sampling
from keras_vae.layers import gaussian_kl_divergence
from keras_vae.likelihoods import Bernoulli
from keras_vae.likelihoods import Gaussian
from keras_vae.utils.log_variance import LOG_VARIANCE_MAX
from keras_vae.utils.log_variance import LOG_VARIANCE_MIN
from keras_vae.utils.log_variance import clip_log_variance

EXTREMES = [(1e4, 100.0), (1e4, -100.0), (-1e4, 100.0), (-1e4, -100.0)]
LIKELIHOODS = {
    "bernoulli": lambda: "bernoulli",
    "gaussian_learned": lambda: Gaussian(),
    "gaussian_fixed": lambda: Gaussian(scale=0.1),
}
HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def closed_form_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, 1)) per element, float64 NumPy."""
    mean, log_var = np.float64(mean), np.float64(log_var)
    return 0.5 * (mean**2 + np.exp(log_var) - 1.0 - log_var)


def all_finite(tensors):
    return all(np.all(np.isfinite(ops.convert_to_numpy(t))) for t in tensors)


def set_encoder_outputs(vae, z_mean, z_log_var):
    """Zeroes the heads' kernels so every example encodes to the given
    constants."""
    for name, value in (("z_mean", z_mean), ("z_log_var", z_log_var)):
        layer = vae.encoder.get_layer(name)
        layer.kernel.assign(np.zeros(layer.kernel.shape))
        layer.bias.assign(np.full(layer.bias.shape, value))


# --- The clip and the KL ----------------------------------------------------


@HYPOTHESIS
@given(
    hnp.arrays(
        "float32",
        (4, 3),
        elements=st.floats(LOG_VARIANCE_MIN, LOG_VARIANCE_MAX, width=32),
    ),
    hnp.arrays("float32", (4, 3), elements=st.floats(-1e4, 1e4, width=32)),
)
def test_kl_is_the_exact_closed_form_inside_the_range(log_var, mean):
    kl = ops.convert_to_numpy(gaussian_kl_divergence(mean, log_var))
    q = tfp.distributions.Normal(
        mean.astype("float64"), np.exp(0.5 * log_var.astype("float64"))
    )
    reference = tfp.distributions.kl_divergence(
        q, tfp.distributions.Normal(np.float64(0), np.float64(1))
    ).numpy()
    np.testing.assert_allclose(kl, reference.sum(axis=1), rtol=1e-5, atol=1e-5)


@HYPOTHESIS
@given(
    hnp.arrays(
        "float32",
        (5,),
        elements=st.floats(width=32, allow_nan=False, allow_infinity=False),
    ),
    hnp.arrays("float32", (5,), elements=st.floats(-1e4, 1e4, width=32)),
)
@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
def test_kl_and_its_gradients_are_finite_for_any_finite_log_var(log_var, mean):
    log_var_t, mean_t = tf.constant(log_var[None]), tf.constant(mean[None])
    with tf.GradientTape() as tape:
        tape.watch([log_var_t, mean_t])
        kl = gaussian_kl_divergence(mean_t, log_var_t, reduce=False)
    grads = tape.gradient(kl, [log_var_t, mean_t])
    assert all_finite([kl, *grads])
    # The value is the closed form at the clipped log-variance.
    clipped = np.clip(log_var, LOG_VARIANCE_MIN, LOG_VARIANCE_MAX)
    np.testing.assert_allclose(
        ops.convert_to_numpy(kl)[0],
        closed_form_kl(mean, clipped),
        rtol=1e-5,
        atol=1e-5,
    )
    # Straight-through: the gradient is the closed form's at the clipped
    # value, so outside the range it still points into the range.
    np.testing.assert_allclose(
        ops.convert_to_numpy(grads[0])[0],
        0.5 * (np.exp(clipped.astype("float64")) - 1.0),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.parametrize("value", [1e10, -1e10, 3e38, -3e38])
def test_the_clip_is_exact_far_outside_the_range(value):
    # `x + stop_gradient(clip(x) - x)` would round to 0 here.
    clipped = ops.convert_to_numpy(clip_log_variance(ops.array([value])))
    assert clipped[0] == np.clip(value, LOG_VARIANCE_MIN, LOG_VARIANCE_MAX)


@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
@pytest.mark.parametrize("z_mean, z_log_var", EXTREMES)
def test_sampling_is_finite_at_extremes(z_mean, z_log_var):
    mean = tf.fill((1000, 2), z_mean)
    log_var = tf.fill((1000, 2), z_log_var)
    with tf.GradientTape() as tape:
        tape.watch([mean, log_var])
        z = Sampling(seed=0)([mean, log_var])
    grads = tape.gradient(z, [mean, log_var])
    assert all_finite([z, *grads])
    # z is drawn with the clipped standard deviation.
    std = math.exp(0.5 * np.clip(z_log_var, -30, 20))
    epsilon = (ops.convert_to_numpy(z).astype("float64") - z_mean) / std
    if std > 1e-2:  # Below, z rounds to z_mean in float32.
        assert abs(epsilon.mean()) < 5 / math.sqrt(2000)
        assert abs(epsilon.std() - 1.0) < 0.05
    else:
        np.testing.assert_allclose(ops.convert_to_numpy(z), z_mean, rtol=1e-6)


# --- The likelihoods --------------------------------------------------------


@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
@pytest.mark.parametrize("logit", [1e4, -1e4, 1e30, -1e30, 3e38, -3e38])
@pytest.mark.parametrize("x", [0.0, 0.5, 1.0])
def test_bernoulli_is_exact_and_finite_for_extreme_logits(logit, x):
    logits = tf.constant([[logit]], "float32")
    with tf.GradientTape() as tape:
        tape.watch(logits)
        nll = Bernoulli().negative_log_likelihood(tf.constant([[x]]), logits)
    grad = tape.gradient(nll, logits)
    # -log p = max(l, 0) - l * x + log1p(exp(-|l|)); the last term is 0.
    expected = max(logit, 0.0) - logit * x
    np.testing.assert_allclose(
        ops.convert_to_numpy(nll)[0], expected, rtol=1e-6
    )
    # d/dl = sigmoid(l) - x, exactly 0 or 1 minus x at these logits.
    np.testing.assert_allclose(
        ops.convert_to_numpy(grad)[0, 0], float(logit > 0) - x, atol=1e-6
    )


@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
@pytest.mark.parametrize("log_scale", [-100.0, -20.0, 15.0, 100.0])
def test_gaussian_learned_scale_is_clipped_and_finite(log_scale):
    likelihood = Gaussian()
    likelihood.build((None, 3))
    likelihood.log_scale.assign(np.full((3,), log_scale))
    x = tf.constant([[0.0, 1.0, -2.0]])
    mean = tf.constant([[1e4, 0.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(mean)
        nll = likelihood.negative_log_likelihood(x, mean)
    grads = tape.gradient(nll, [mean, likelihood.log_scale])
    assert all_finite([nll, *grads])
    used = np.clip(log_scale, -15.0, 10.0)
    residual = (np.float64([0.0, 1.0, -2.0]) - [1e4, 0.0, 3.0]) / np.exp(used)
    expected = np.sum(0.5 * residual**2 + used + 0.5 * math.log(2 * math.pi))
    np.testing.assert_allclose(ops.convert_to_numpy(nll)[0], expected, 1e-5)
    # Straight-through: the log-scale's gradient is 1 - residual**2 summed,
    # evaluated at the clipped scale.
    np.testing.assert_allclose(
        ops.convert_to_numpy(grads[1]), 1.0 - residual**2, rtol=1e-4
    )


def test_gaussian_scale_inside_the_range_is_unchanged():
    likelihood = Gaussian()
    likelihood.build((None, 2))
    likelihood.log_scale.assign([-3.0, 2.5])
    nll = likelihood.negative_log_likelihood(
        tf.constant([[0.5, -1.0]]), tf.constant([[0.0, 0.0]])
    )
    reference = -tfp.distributions.Normal(
        np.float64(0), np.exp([-3.0, 2.5])
    ).log_prob([0.5, -1.0])
    np.testing.assert_allclose(
        ops.convert_to_numpy(nll)[0], np.sum(reference), rtol=1e-6
    )


# --- Through a real VAE -----------------------------------------------------


@pytest.mark.parametrize("z_mean, z_log_var", EXTREMES)
@pytest.mark.parametrize("likelihood", sorted(LIKELIHOODS))
def test_vae_losses_and_gradients_are_finite_at_extremes(
    likelihood, z_mean, z_log_var
):
    vae = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), likelihood=LIKELIHOODS[likelihood](), seed=0
    )
    set_encoder_outputs(vae, z_mean, z_log_var)
    x = np.random.default_rng(0).uniform(size=(16, 28, 28, 1))
    x = x.astype("float32")
    losses, grads = value_and_grad(
        lambda: vae.compute_losses(x, training=True), vae.trainable_weights
    )
    loss, reconstruction_loss, kl_loss = losses
    assert all_finite([loss, reconstruction_loss, kl_loss, *grads])
    # The KL is the closed form at the clipped log-variance, 20 dimensions.
    clipped = np.clip(z_log_var, LOG_VARIANCE_MIN, LOG_VARIANCE_MAX)
    np.testing.assert_allclose(
        float(kl_loss), 20 * closed_form_kl(z_mean, clipped), rtol=1e-5
    )
    # Straight-through: the z_log_var bias gets the KL's gradient at the
    # bound, which points back into the range (a plain clip would give 0).
    bias_grad = kl_gradient(vae, x, "z_log_var")
    assert np.all(np.sign(bias_grad) == np.sign(z_log_var))


def kl_gradient(vae, x, head):
    """The gradient of the KL term alone w.r.t. a head's bias."""
    bias = vae.encoder.get_layer(head).bias

    def kl_loss():
        vae.compute_losses(x, training=True)
        return (sum(vae.losses),)

    return value_and_grad(kl_loss, [bias])[1][0]


@pytest.mark.parametrize("z_log_var", [100.0, -100.0])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian_learned"])
def test_vae_trains_finite_from_extremes(likelihood, z_log_var, vectors):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,),
        latent_dim=2,
        hidden_units=(16,),
        likelihood=LIKELIHOODS[likelihood](),
        seed=0,
    )
    set_encoder_outputs(vae, 1e4, z_log_var)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(vectors, epochs=2, batch_size=16, verbose=0)
    for name in ("loss", "reconstruction_loss", "kl_loss"):
        assert np.all(np.isfinite(history.history[name])), name
    assert all_finite(vae.weights)
    # The first epoch's KL is the closed form at the clipped log-variance
    # (less the steps' small moves), not inf.
    clipped = np.clip(z_log_var, LOG_VARIANCE_MIN, LOG_VARIANCE_MAX)
    assert history.history["kl_loss"][0] == pytest.approx(
        2 * closed_form_kl(1e4, clipped), rel=1e-2
    )


@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
@pytest.mark.parametrize("z_log_var", [100.0, -100.0])
def test_importance_weighted_bound_is_finite_at_extremes(z_log_var):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,),
        latent_dim=2,
        hidden_units=(16,),
        num_importance_samples=4,
        seed=0,
    )
    set_encoder_outputs(vae, 1e4, z_log_var)
    x = np.random.default_rng(0).uniform(size=(8, 8)).astype("float32")
    with tf.GradientTape() as tape:
        losses = vae.compute_losses(x, training=True)
    grads = tape.gradient(losses[0], vae.trainable_weights)
    assert all_finite([*losses, *grads])
    # The bound is at least the prior's -log p(z) ~ 0.5 * |z|**2 = 1e8.
    assert float(losses[0]) > 1e8


# --- A NaN that still appears stops training --------------------------------


def nan_vae(poison_decoder, steps_per_execution=STEPS_PER_EXECUTION):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    vae.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        steps_per_execution=steps_per_execution,
    )
    if poison_decoder:
        weight = vae.decoder.get_layer("params").kernel
        value = ops.convert_to_numpy(weight).copy()
        value.flat[0] = np.nan
        weight.assign(value)
    return vae


def test_fit_stops_on_a_nan_decoder_weight_and_names_the_term(vectors):
    vae = nan_vae(True, steps_per_execution=1)
    with pytest.raises(RuntimeError) as info:
        vae.fit(vectors, epochs=3, batch_size=16, verbose=0)
    message = str(info.value)
    # The decoder's NaN reaches the reconstruction term of the first step;
    # the KL of that step was computed from finite encoder weights.
    assert "non-finite loss=nan, reconstruction_loss=nan" in message
    assert "kl_loss" not in message
    assert "in epoch 0 (0-based), batch 0 " in message
    # The NaN gradients of that step reached all 10 trainable weights, not
    # the KL layer's beta or the warm-up schedule.
    assert (
        "Non-finite weights: encoder/hidden_0/kernel, encoder/hidden_0/bias, "
        "encoder/z_mean/kernel and 7 more." in message
    )
    assert vae.optimizer.iterations.numpy() == 1


@MULTI_STEP
def test_fit_stops_on_a_huge_learning_rate(vectors):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    vae.compile(optimizer=keras.optimizers.SGD(1e30))
    with pytest.raises(RuntimeError, match="Training stopped: non-finite") as e:
        vae.fit(vectors, epochs=5, batch_size=8, verbose=0)
    message = str(e.value)
    # 8 steps per epoch, one execution of up to 32: the first execution.
    assert "in epoch 0 (0-based), batches 0-7 " in message
    assert "Non-finite weights: " in message
    assert "learning rate" in message
    # Stopped in the first epoch: the remaining four never ran.
    assert vae.optimizer.iterations.numpy() == 8


def test_graceful_stop_prints_and_returns(vectors, capsys):
    vae = nan_vae(True, steps_per_execution=1)
    history = vae.fit(
        vectors,
        epochs=3,
        batch_size=16,
        verbose=0,
        callbacks=[TerminateOnNaN(raise_error=False)],
    )
    assert "reconstruction_loss=nan" in capsys.readouterr().out
    assert len(history.history["loss"]) == 1
    assert vae.optimizer.iterations.numpy() == 1


@pytest.mark.parametrize("by_position", [False, True])
def test_a_keras_terminate_on_nan_replaces_the_default(
    by_position, vectors, capsys
):
    vae = nan_vae(True, steps_per_execution=1)
    callbacks = [keras.callbacks.TerminateOnNaN()]
    if by_position:  # fit(x, y, batch_size, epochs, verbose, callbacks)
        history = vae.fit(vectors, None, 16, 3, 0, callbacks)
    else:
        history = vae.fit(
            vectors, epochs=3, batch_size=16, verbose=0, callbacks=callbacks
        )
    assert "Invalid loss, terminating training" in capsys.readouterr().out
    assert len(history.history["loss"]) == 1


def test_finite_training_is_not_stopped(vectors):
    vae = nan_vae(False)
    history = vae.fit(vectors, epochs=2, batch_size=16, verbose=0)
    assert len(history.history["loss"]) == 2
    assert np.all(np.isfinite(history.history["loss"]))


def test_raise_error_must_be_a_bool():
    with pytest.raises(ValueError, match="Received: raise_error=1"):
        TerminateOnNaN(raise_error=1)
