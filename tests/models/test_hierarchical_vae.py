"""The hierarchical VAE: its maths on a linear-Gaussian hierarchy whose
`log p(x)` and posteriors are known in closed form, its stability options,
and training, saving and sampling of the convolutional builder's model.

The linear hierarchy: `z_0 ~ N(0, I)`, `z_1 | z_0 ~ N(z_0 A + c, S)`,
`x | z_1 ~ N(z_1 W + d, s^2 I)` (row vectors), with `A` and `S` diagonal
and `W` of orthogonal rows, so that the exact posterior factorizes as
`p(z_0|x) p(z_1|z_0, x)`, both diagonal Gaussians with means linear in
`x` and `z_0`: the `HierarchicalVAE` can represent it exactly.
"""

import functools
import json
import math

import keras
import numpy as np
import pytest
import tensorflow_probability as tfp
from backend_defaults import JIT_COMPILE
from backend_defaults import STEPS_PER_EXECUTION

import keras_vae
from keras_vae.evaluation import log_likelihood
from keras_vae.layers import GroupKLDivergenceLayer
from keras_vae.layers import UpdateGuard
from keras_vae.layers import diagonal_gaussian_kl_divergence
from keras_vae.likelihoods import Bernoulli
from keras_vae.likelihoods import Gaussian
from keras_vae.utils.soft_clamp import soft_clamp

tfd = tfp.distributions

D, L = 4, 2  # Data and latent sizes of each group.
A = np.array([1.5, -0.7])  # z_1's prior mean is z_0 * A + C.
C = np.array([0.2, -0.1])
S = np.array([0.5, 0.8])  # z_1's prior variances.
W = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.8, -0.8]])
B = np.array([0.3, -0.2, 0.1, 0.5])
SIGMA = 0.5
# p(x | z_0): mean z_0 A W + C W + B, covariance W^T S W + s^2 I.
COV_X_Z0 = W.T @ np.diag(S) @ W + SIGMA**2 * np.eye(D)
# The exact posterior p(z_1 | z_0, x): precision 1/S + diag(W W^T)/s^2.
P1 = 1.0 / S + np.diag(W @ W.T) / SIGMA**2
# The exact posterior p(z_0 | x): precision I + A W COV^-1 W^T A.
PRECISION_0 = np.eye(L) + np.diag(A) @ W @ np.linalg.solve(
    COV_X_Z0, W.T @ np.diag(A)
)
P0 = np.diag(PRECISION_0)
# mean_0 = (x - C W - B) COV^-1 W^T A / P0 = x K0 + b0.
K0 = np.linalg.solve(COV_X_Z0, W.T @ np.diag(A)) / P0
B0 = -(C @ W + B) @ K0


def sample_data(n, seed=0):
    rng = np.random.default_rng(seed)
    z0 = rng.normal(size=(n, L))
    z1 = z0 * A + C + np.sqrt(S) * rng.normal(size=(n, L))
    x = z1 @ W + B + SIGMA * rng.normal(size=(n, D))
    return x.astype("float32")


def true_log_px(x):
    covariance = W.T @ np.diag(A**2 + S) @ W + SIGMA**2 * np.eye(D)
    marginal = tfd.MultivariateNormalTriL(
        C @ W + B, np.linalg.cholesky(covariance)
    )
    return marginal.log_prob(x.astype("float64")).numpy()


def dense(inputs, kernel, bias, name):
    layer = keras.layers.Dense(len(bias), name=name)
    outputs = layer(inputs)
    layer.set_weights([np.asarray(kernel), np.asarray(bias)])
    return outputs


def build_linear_hvae(mean_scale=1.0, log_var_shift=0.0, **kwargs):
    """The linear hierarchy as a `HierarchicalVAE` whose posteriors are the
    exact ones with means scaled by `mean_scale` and log-variances shifted
    by `log_var_shift`: (1, 0) is exact."""
    x = keras.Input(shape=(D,), name="x")
    encoder = keras.Model(
        x, [keras.layers.Identity()(x), keras.layers.Identity()(x)]
    )
    e0 = keras.Input(shape=(D,))
    posterior_0 = keras.Model(
        e0,
        [
            dense(e0, mean_scale * K0, mean_scale * B0, "q0_mean"),
            dense(e0, np.zeros((D, L)), -np.log(P0) + log_var_shift, "q0_lv"),
        ],
    )
    # mean_1 = (z_0 A / S + C / S + (x - B) W^T / s^2) / P1.
    h1, e1 = keras.Input(shape=(L,)), keras.Input(shape=(D,))
    joined = keras.layers.Concatenate()([h1, e1])
    kernel_1 = np.concatenate([np.diag(A / S), W.T / SIGMA**2]) / P1
    bias_1 = (C / S - B @ W.T / SIGMA**2) / P1
    posterior_1 = keras.Model(
        [h1, e1],
        [
            dense(joined, mean_scale * kernel_1, mean_scale * bias_1, "q1_m"),
            dense(
                joined,
                np.zeros((D + L, L)),
                -np.log(P1) + log_var_shift,
                "q1_lv",
            ),
        ],
    )
    h = keras.Input(shape=(L,))
    prior_1 = keras.Model(
        h,
        [
            dense(h, np.diag(A), C, "p1_mean"),
            dense(h, np.zeros((L, L)), np.log(S), "p1_log_var"),
        ],
    )
    z0 = keras.Input(shape=(L,))
    merge_0 = keras.Model(z0, keras.layers.Identity()(z0))  # h_1 = z_0
    h, z1 = keras.Input(shape=(L,)), keras.Input(shape=(L,))
    both = keras.layers.Concatenate()([h, z1])
    pick_z1 = np.concatenate([np.zeros((L, L)), np.eye(L)])
    merge_1 = keras.Model([h, z1], dense(both, pick_z1, np.zeros(L), "h2"))
    h2 = keras.Input(shape=(L,))
    decoder = keras.Model(h2, dense(h2, W, B, "params"))
    return keras_vae.HierarchicalVAE(
        encoder,
        [posterior_0, posterior_1],
        [prior_1],
        [merge_0, merge_1],
        decoder,
        likelihood=Gaussian(scale=SIGMA),
        **kwargs,
    )


def wrong_linear_hvae(**kwargs):
    # Means shrunk by a third, variances doubled: poor but overlapping.
    return build_linear_hvae(
        mean_scale=2 / 3, log_var_shift=math.log(2.0), **kwargs
    )


# === The maths, on the linear hierarchy ===


def test_the_construction_is_the_exact_posterior():
    # Guards what the other tests rely on: p(z_0|x) is diagonal.
    off_diagonal = PRECISION_0 - np.diag(P0)
    np.testing.assert_allclose(off_diagonal, 0.0, atol=1e-12)
    vae = build_linear_hvae()
    assert vae.group_shapes == [(L,), (L,)]
    assert vae.latent_shape == (2 * L,)


def test_exact_posterior_gives_the_exact_log_likelihood_with_one_sample():
    # With q = p(z|x) every weight p(x, z) / q(z|x) equals p(x) exactly,
    # whatever the draw: a wrong prior of z_1, a posterior not conditioned
    # on z_0 or a missing group term would all break this.
    x = sample_data(200)
    estimate = log_likelihood(build_linear_hvae(), x, 1, seed=0, verbose=0)
    np.testing.assert_allclose(estimate, true_log_px(x), atol=2e-5, rtol=0)


def test_log_likelihood_converges_to_the_exact_value():
    x = sample_data(200, seed=1)
    vae = wrong_linear_hvae()
    truth = true_log_px(x).mean()
    means = {
        k: log_likelihood(vae, x, k, seed=1, verbose=0).mean()
        for k in (1, 30, 10000)
    }
    # A lower bound in expectation that tightens with K, to the truth.
    # Measured over data and noise seeds 1-4: K=1 is 2.4-3.0 nats below,
    # K=30 0.13-0.37, K=3000 up to 0.039 and K=10000 up to 0.013.
    assert means[1] < means[30] < means[10000] < truth + 0.01, (means, truth)
    assert truth - means[1] > 1.0, (means, truth)
    assert abs(means[10000] - truth) < 0.03, (means, truth)


def test_group_kl_values_equal_the_closed_form():
    x = sample_data(64, seed=2)
    vae = wrong_linear_hvae()
    vae.compile(optimizer="adam")
    logs = vae.evaluate(x, batch_size=64, verbose=0, return_dict=True)
    # Group 0: KL(q(z_0|x) || N(0, I)) depends on x alone.
    mean_0 = x.astype("float64") @ K0 * (2 / 3) + B0 * (2 / 3)
    std_0 = np.sqrt(2.0 / P0)
    standard = tfd.Normal(np.float64(0.0), np.float64(1.0))
    kl_0 = tfd.kl_divergence(tfd.Normal(mean_0, std_0), standard)
    expected_0 = kl_0.numpy().sum(1).mean()
    assert logs["kl_group_0"] == pytest.approx(expected_0, rel=1e-5)
    # beta = 1, no free bits: kl_loss is the sum of the groups' KLs.
    assert logs["kl_loss"] == pytest.approx(
        logs["kl_group_0"] + logs["kl_group_1"], rel=1e-5
    )
    # Group 1 at a known draw of z_0: KL(q(z_1|x, z_0) || p(z_1|z_0)).
    epsilon = np.random.default_rng(3).normal(size=(1, 64, 2 * L))
    _, _, kls = vae._log_weights(
        x,
        keras.ops.convert_to_tensor(epsilon.astype("float32")),
        False,
        keras_vae.backend.wide_float(),
        True,
    )
    z0 = mean_0 + std_0 * epsilon[0, :, :L]
    joined = np.concatenate([z0, x], axis=1)
    kernel_1 = np.concatenate([np.diag(A / S), W.T / SIGMA**2]) / P1
    bias_1 = (C / S - B @ W.T / SIGMA**2) / P1
    q1 = tfd.Normal((joined @ kernel_1 + bias_1) * 2 / 3, np.sqrt(2.0 / P1))
    p1 = tfd.Normal(z0 * A + C, np.sqrt(S))
    expected_1 = tfd.kl_divergence(q1, p1).numpy().sum(1).mean()
    kls = [float(keras.ops.convert_to_numpy(kl)) for kl in kls]
    assert kls[0] == pytest.approx(expected_0, rel=1e-5)
    assert kls[1] == pytest.approx(expected_1, rel=1e-5)


def test_group_kl_layer_against_tfp_with_beta_and_free_bits():
    rng = np.random.default_rng(0)
    q_mean, q_log_var, p_mean, p_log_var = (
        rng.normal(size=(5, 3, 2)).astype("float32") for _ in range(4)
    )
    q = tfd.Normal(np.float64(q_mean), np.exp(0.5 * np.float64(q_log_var)))
    p = tfd.Normal(np.float64(p_mean), np.exp(0.5 * np.float64(p_log_var)))
    reference = tfd.kl_divergence(q, p).numpy().reshape(5, -1).sum(1)
    kl = diagonal_gaussian_kl_divergence(q_mean, q_log_var, p_mean, p_log_var)
    np.testing.assert_allclose(kl, reference, rtol=1e-5)
    inputs = [q_mean, q_log_var, p_mean, p_log_var]
    layer = GroupKLDivergenceLayer(beta=0.5)
    np.testing.assert_allclose(layer(inputs), reference, rtol=1e-5)
    assert float(layer.losses[0]) == pytest.approx(0.5 * reference.mean())
    # Free bits per group: the batch-mean KL of the group is floored.
    floor = reference.mean() + 1.0
    layer = GroupKLDivergenceLayer(beta=2.0, free_bits=floor)
    layer(inputs)
    assert float(layer.losses[0]) == pytest.approx(2.0 * floor)
    config = layer.get_config()
    assert GroupKLDivergenceLayer.from_config(config).get_config() == config


def test_iwae_training_objective_runs_over_all_groups():
    vae = wrong_linear_hvae(num_importance_samples=4, seed=0)
    vae.compile(optimizer="adam")
    logs = vae.evaluate(sample_data(64), verbose=0, return_dict=True)
    assert all(math.isfinite(v) for v in logs.values())
    assert {"kl_group_0", "kl_group_1"} <= set(logs)


# === Stability options ===


def test_soft_clamp_bounds_the_log_variances():
    values = keras.ops.convert_to_tensor([-1e4, -50.0, -0.1, 0.0, 0.1, 50.0])
    clamped = keras.ops.convert_to_numpy(soft_clamp(values, 5.0))
    assert np.all(np.abs(clamped) <= 5.0)
    np.testing.assert_allclose(clamped[2:5], [-0.1, 0.0, 0.1], atol=1e-4)
    x = sample_data(8)
    for bound in (None, 5.0):
        vae = build_linear_hvae(log_variance_bound=bound)
        for model in vae.posteriors:
            kernel, bias = model.layers[-1].get_weights()
            model.layers[-1].set_weights([kernel, bias + 60.0])
        _, log_var = vae.encode(x)
        if bound is None:
            assert log_var.min() > 55
        else:
            assert 4.99 < log_var.min() and log_var.max() <= 5.0


def fit_linear(vae, epochs=4, optimizer=None, **kwargs):
    vae.compile(optimizer=optimizer or keras.optimizers.Adam(1e-2))
    return vae.fit(
        sample_data(64), batch_size=8, epochs=epochs, verbose=0, **kwargs
    )


def test_skipped_updates_leave_weights_and_optimizer_untouched():
    # A threshold of 0 skips every update.
    vae = wrong_linear_hvae(skip_gradient_norm=0.0, max_consecutive_skips=1000)
    before = [w.numpy().copy() for w in vae.trainable_weights]
    history = fit_linear(vae)
    # The default compile: 32 steps per execution (8 here, an epoch),
    # fused in one XLA program on TensorFlow, jit-compiled on JAX.
    assert vae.jit_compile is JIT_COMPILE
    assert vae.steps_per_execution == STEPS_PER_EXECUTION
    after = [w.numpy() for w in vae.trainable_weights]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert int(vae.optimizer.iterations) == 0
    moments = vae.optimizer.variables[2:]
    assert moments and not any(np.any(v.numpy()) for v in moments)
    assert int(vae.update_guard.skipped_updates) == 32
    assert history.history["skipped_updates"] == [8, 16, 24, 32]
    assert all(n > 0 for n in history.history["gradient_norm"])
    # Never silently: past `max_consecutive_skips` in a row, an error, at
    # the end of the execution (of 8 steps; 1 on PyTorch) that crossed it.
    vae.update_guard.max_consecutive_skips = 5
    crossed = 32 + min(STEPS_PER_EXECUTION, 8)
    with pytest.raises(
        RuntimeError, match=f"last {crossed} updates were all skip"
    ):
        vae.fit(sample_data(64), batch_size=8, epochs=4, verbose=0)
    assert int(vae.update_guard.skipped_updates) == crossed


@pytest.mark.parametrize("clip", [None, 0.5])
def test_gradient_clipping_bounds_the_applied_update(clip):
    # With a threshold far above the norm, no update is skipped.
    vae = wrong_linear_hvae(clip_gradient_norm=clip, skip_gradient_norm=1e9)
    before = [w.numpy().copy() for w in vae.trainable_weights]
    vae.compile(optimizer=keras.optimizers.SGD(0.01))
    history = vae.fit(sample_data(64), batch_size=64, epochs=1, verbose=0)
    assert history.history["skipped_updates"] == [0]
    assert int(vae.optimizer.iterations) == 1
    steps = [w.numpy() - b for w, b in zip(vae.trainable_weights, before)]
    norm = math.sqrt(sum(float(np.sum(s**2)) for s in steps))
    # The logged norm is the raw gradient's, before clipping.
    raw_norm = history.history["gradient_norm"][0]
    assert (
        raw_norm > 3 * clip
        if clip
        else norm == pytest.approx(0.01 * raw_norm, rel=1e-4)
    )
    if clip is None:
        # The raw gradient's norm is several times the bound.
        assert norm > 3 * 0.01 * 0.5
    else:
        # One SGD step of the clipped gradient: learning rate * clip.
        assert norm == pytest.approx(0.01 * clip, rel=1e-4)


def test_non_finite_gradients_are_skipped_until_the_skips_check_fires():
    vae = wrong_linear_hvae(
        skip_gradient_norm=math.inf, max_consecutive_skips=4
    )
    layer = vae.posteriors[0].get_layer("q0_mean")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel, bias + np.nan])
    others = [w for w in vae.trainable_weights if w is not layer.bias]
    before = [w.numpy().copy() for w in others]
    # Every loss is NaN, every update skipped: the skipped steps stay out of
    # the logs, and the run ends when the skips in a row pass the limit.
    # The check looks at the end of each execution: the first (the epoch's
    # 8 steps), or the fifth step where each step is one.
    steps = 8 if STEPS_PER_EXECUTION > 1 else 4 + 1
    with pytest.raises(
        RuntimeError, match=f"the last {steps} updates were all skipped"
    ):
        fit_linear(vae)
    for b, w in zip(before, others):
        np.testing.assert_array_equal(w.numpy(), b)
    assert int(vae.update_guard.skipped_updates) == steps
    assert int(vae.optimizer.iterations) == 0


def test_update_guard_config_and_checks():
    guard = UpdateGuard(clip_gradient_norm=1.0, skip_gradient_norm=math.inf)
    assert UpdateGuard.from_config(guard.get_config()).skip_gradient_norm == (
        math.inf
    )
    with pytest.raises(ValueError, match="clip_gradient_norm"):
        UpdateGuard(clip_gradient_norm=0)
    with pytest.raises(ValueError, match="skip_gradient_norm"):
        UpdateGuard(skip_gradient_norm=-1)


def test_kl_warmup_schedules_every_group():
    vae = wrong_linear_hvae()
    vae.compile(optimizer="adam")
    vae.set_kl_warmup(64, start_beta=0.0, target_beta=1.0)
    vae.fit(sample_data(256), batch_size=8, epochs=1, verbose=0)
    # The last of 32 steps ran at step 31 of 64.
    assert [layer.beta for layer in vae.kl_layers] == [31 / 64] * 2


# === The convolutional builder, on MNIST ===


@pytest.fixture(scope="module")
def mnist():
    (x_train, _), (x_test, _) = keras_vae.datasets.load_mnist(embedded=True)
    to_8bit = lambda x: np.round(x * 255).astype("uint8")  # noqa: E731
    return to_8bit(x_train[:1024]), to_8bit(x_test[:256])


def build_small(**kwargs):
    return keras_vae.build_hierarchical_vae(
        input_shape=(28, 28, 1),
        latent_channels=((2, 2), (2,)),
        filters=(8, 16),
        seed=0,
        **kwargs,
    )


@pytest.fixture(scope="module")
def trained(mnist):
    keras.utils.set_random_seed(0)
    x_train, _ = mnist
    vae = build_small(preprocessing="8bit", skip_gradient_norm=1e6)
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = vae.fit(x_train, batch_size=64, epochs=3, verbose=0)
    return vae, history.history


def test_fit_lowers_the_loss_on_mnist(trained):
    vae, history = trained
    assert vae.num_groups == 3
    assert history["loss"][-1] < history["loss"][0] - 20, history["loss"]
    for i in range(3):
        assert history[f"kl_group_{i}"][-1] > 0
    assert history["skipped_updates"][-1] == 0


def test_iwae_is_tighter_than_the_elbo(trained, mnist):
    vae, _ = trained
    x = mnist[1][:128]
    elbo = -vae.evaluate(x, verbose=0, return_dict=True)["loss"]
    iwae = log_likelihood(vae, x, num_samples=64, seed=0, verbose=0).mean()
    single = log_likelihood(vae, x, num_samples=1, seed=0, verbose=0).mean()
    assert abs(single - elbo) < 2.0, (single, elbo)
    assert iwae > elbo + 1.0, (iwae, elbo)


def test_kl_per_dimension_is_from_each_groups_own_prior(trained, mnist):
    # Each group's KL from p(z_i | z_<i), along encode's path: per group it
    # sums to the closed form of the group KL layers' function; below the
    # top it is not the KL from N(0, I).
    vae, _ = trained
    x = mnist[1][:64]
    kl = keras_vae.evaluation.kl_per_dimension(vae, x, batch_size=16)
    q_mean, q_log_var = vae.encode(x)
    p_mean, p_log_var = vae.prior_params(x.astype("float32"))
    sizes = [math.prod(shape) for shape in vae.group_shapes]
    bounds = np.cumsum([0] + sizes)
    for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
        expected = keras_vae.layers.diagonal_gaussian_kl_divergence(
            q_mean[:, a:b], q_log_var[:, a:b], p_mean[:, a:b], p_log_var[:, a:b]
        )
        expected = keras.ops.convert_to_numpy(expected)
        np.testing.assert_allclose(kl[a:b].sum(), np.mean(expected), rtol=1e-4)
        standard = -0.5 * (
            1
            + q_log_var[:, a:b]
            - q_mean[:, a:b] ** 2
            - np.exp(q_log_var[:, a:b])
        )
        if i == 0:
            np.testing.assert_allclose(kl[a:b], standard.mean(0), rtol=1e-4)
        else:
            assert abs(kl[a:b].sum() - standard.mean(0).sum()) > 0.1
    assert np.all(kl >= -1e-6)


def test_save_and_load_round_trip(trained, mnist, tmp_path):
    vae, _ = trained
    x = mnist[1][:16]
    vae.update_guard.skipped_updates.assign(7)  # Saved with the weights.
    path = tmp_path / "hvae.keras"
    vae.save(path)
    loaded = keras_vae.load_vae(path)
    assert isinstance(loaded, keras_vae.HierarchicalVAE)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), vae.predict(x, verbose=0), atol=1e-6
    )
    for a, b in zip(loaded.encode(x), vae.encode(x)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(
        loaded.sample(4, temperature=0.7, seed=1),
        vae.sample(4, temperature=0.7, seed=1),
        atol=1e-6,
    )
    # Equal up to tuples read back as lists.
    assert json.dumps(loaded.get_config()) == json.dumps(vae.get_config())
    assert int(loaded.update_guard.skipped_updates) == 7
    vae.update_guard.skipped_updates.assign(0)


def test_per_group_numpy_arguments_save_and_load(tmp_path):
    vae = build_tiny(beta=np.array([1.0, 0.5]), free_bits=np.float32(0.25))
    path = tmp_path / "numpy_args.keras"
    vae.save(path)
    loaded = keras_vae.load_vae(path)
    assert loaded.get_config()["beta"] == [1.0, 0.5]
    assert loaded.get_config()["free_bits"] == 0.25
    assert [layer.beta for layer in loaded.group_kl_layers] == [1.0, 0.5]


def test_a_warmup_refuses_per_group_betas(mnist):
    vae = build_tiny(beta=(1.0, 0.5))
    with pytest.raises(ValueError, match=r"Received: beta=\[1.0, 0.5\]"):
        vae.set_kl_warmup(10)
    vae.compile(optimizer="adam")
    x = mnist[0][:32, 8:20, 8:20].astype("float32") / 255
    with pytest.raises(ValueError, match="per group"):
        vae.fit(x, callbacks=[keras_vae.callbacks.KLWarmup(warmup_steps=5)])
    assert [layer.beta for layer in vae.group_kl_layers] == [1.0, 0.5]
    build_tiny(beta=(0.5, 0.5)).set_kl_warmup(10)  # One beta: fine.


def test_temperature_scales_the_prior_std():
    vae = build_small()  # Untrained: every prior is N(0, I).
    for temperature in (0.6, 1.0):
        z = vae._prior_sample(2000, seed=0, temperature=temperature)
        assert z.shape == (2000,) + vae.latent_shape
        assert np.std(z) == pytest.approx(temperature, rel=0.03)
    images = vae.sample(3, temperature=0.8, seed=0)
    assert images.shape == (3, 28, 28, 1)
    again = vae.sample(3, seed=0, temperature=0.8)
    np.testing.assert_array_equal(images, again)


class TwoOutputBernoulli(Bernoulli):
    """Two decoder outputs per channel, the second ignored: stands in for
    a likelihood with more parameters than channels."""

    def output_channels(self, data_channels):
        return 2 * data_channels

    def negative_log_likelihood(self, x, params):
        return super().negative_log_likelihood(x, params[..., :1])

    def mean(self, params):
        return super().mean(params[..., :1])


def build_tiny(**kwargs):
    """One resolution, two groups: quick to trace."""
    return keras_vae.build_hierarchical_vae(
        input_shape=(12, 12, 1),
        latent_channels=((2, 2),),
        filters=(4,),
        seed=0,
        **kwargs,
    )


def torch_refuses_one_channel_float16_kernels():
    """Whether this PyTorch, on this CPU, refuses the weight gradient of a
    3x3 float16 kernel with one output channel in the channels-last layout
    Keras's torch backend gives inputs and kernels ("slow_conv2d:
    grad_weight must be contiguous", from its slow fallback path). It does
    with torch 2.13 on the AMD EPYC of these machines; CI once passed the
    test elsewhere, so it depends on the CPU. The Bernoulli decoder's last
    layer is such a kernel."""
    if keras.backend.backend() != "torch":
        return False
    import torch

    channels_last = torch.channels_last
    x = torch.ones((1, 2, 4, 4), dtype=torch.float16)
    kernel = torch.ones((3, 3, 2, 1), dtype=torch.float16, requires_grad=True)
    try:
        torch.nn.functional.conv2d(
            x.contiguous(memory_format=channels_last),
            kernel.permute(3, 2, 0, 1).contiguous(memory_format=channels_last),
            padding=1,
        ).sum().backward()
    except RuntimeError:
        return True
    return False


# Where PyTorch refuses it, the conv model is an expected failure (strict,
# so a PyTorch that fixes it turns this red); the dense ladder runs the
# same check on every backend and machine.
TORCH_FLOAT16_ONE_CHANNEL_CONV = pytest.mark.xfail(
    torch_refuses_one_channel_float16_kernels(),
    reason="PyTorch CPU float16 conv: one-output-channel kernel's gradient",
    raises=RuntimeError,
    strict=True,
)


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            build_tiny, id="conv", marks=TORCH_FLOAT16_ONE_CHANNEL_CONV
        ),
        pytest.param(
            functools.partial(
                keras_vae.build_hierarchical_mlp_vae,
                input_shape=(12, 12, 1),
                latent_dims=(2, 4),
                hidden_units=(16, 16),
                seed=0,
            ),
            id="dense",
        ),
    ],
)
def test_mixed_precision_with_the_update_guard(mnist, build):
    # Under a `LossScaleOptimizer` the guard compares unscaled norms.
    keras.config.set_dtype_policy("mixed_float16")
    vae = build(
        preprocessing="8bit", clip_gradient_norm=1e3, skip_gradient_norm=1e6
    )
    vae.compile(optimizer="adam", steps_per_execution=1)
    assert isinstance(vae.optimizer, keras.optimizers.LossScaleOptimizer)
    x = mnist[0][:64, 8:20, 8:20]
    logs = vae.fit(x, batch_size=16, epochs=3, verbose=0).history
    # Overflowing float16 gradients are the optimizer's to handle (it
    # halves its loss scale and applies nothing): the guard skips none.
    assert logs["skipped_updates"] == [0, 0, 0]
    assert 1 <= int(vae.optimizer.iterations) <= 12
    # The norm is the loss's own, the loss scale (32768 at the start,
    # halved on each overflow) divided out.
    assert 1 < logs["gradient_norm"][-1] < 1e4


def test_decoder_outputs_the_likelihoods_channels(mnist):
    vae = build_tiny(likelihood=TwoOutputBernoulli(), preprocessing="8bit")
    assert vae.decoder.output_shape == (None, 12, 12, 2)
    vae.compile(optimizer="adam", steps_per_execution=1)
    x = mnist[0][:64, 8:20, 8:20]
    vae.fit(x, batch_size=32, verbose=0)
    assert vae.predict(x[:2], verbose=0).shape == (2, 12, 12, 1)


def test_pixel_likelihood_reconstructs_in_pixel_values(mnist):
    # The discretized logistic decodes pixel values 0-255 itself: predict
    # and reconstruct return its mean as they are, as decode does on the
    # posterior means, not rescaled once more by the "8bit" preprocessing.
    x = mnist[0][:8, 8:20, 8:20]
    vae = build_tiny(likelihood="discretized_logistic")
    reconstruction = vae.reconstruct(x)
    assert 0 <= reconstruction.min() and reconstruction.max() <= 255
    np.testing.assert_allclose(
        reconstruction, vae.decode(vae.encode(x)[0]), rtol=1e-5, atol=1e-3
    )
    np.testing.assert_allclose(
        vae.predict(x, verbose=0), reconstruction, rtol=1e-5, atol=1e-3
    )


def test_gaussian_likelihood_trains_and_estimates(mnist):
    x = mnist[0][:64, 8:20, 8:20].astype("float32") / 255
    vae = build_tiny(likelihood="gaussian", log_variance_bound=7.0)
    vae.compile(optimizer="adam", steps_per_execution=1)
    logs = vae.fit(x, batch_size=32, verbose=0).history
    assert math.isfinite(logs["loss"][0])
    assert np.all(np.isfinite(log_likelihood(vae, x[:4], 8, verbose=0)))


def test_builder_handles_odd_sizes_and_colour():
    vae = keras_vae.build_hierarchical_vae(
        input_shape=(15, 13, 3),
        latent_channels=((2,), (3, 1)),
        filters=(4, 6),
    )
    assert vae.group_shapes == [(4, 4, 2), (8, 7, 3), (8, 7, 1)]
    assert vae.latent_shape == (32 + 168 + 56,)
    assert vae.decoder.output_shape == (None, 15, 13, 3)
    x = np.random.default_rng(0).uniform(size=(2, 15, 13, 3))
    assert vae(x.astype("float32")).shape == (2, 15, 13, 3)
    mean, log_var = vae.encode(x)
    assert mean.shape == log_var.shape == (2, 256)
    assert vae.decode(mean).shape == (2, 15, 13, 3)


def test_builder_checks_its_arguments():
    with pytest.raises(ValueError, match="latent_channels"):
        build_small_with(latent_channels=((2,), (2,), (2,)))
    with pytest.raises(ValueError, match="beta"):
        build_small(beta=(1.0, 1.0))


def build_small_with(**kwargs):
    return keras_vae.build_hierarchical_vae(
        input_shape=(28, 28, 1), filters=(8, 16), **kwargs
    )


# === Ancestral sampling and the exports ===


def test_prior_latents_draw_each_group_given_the_ones_above():
    vae = build_linear_hvae()
    epsilon = np.random.default_rng(3).normal(size=(5, 2 * L))
    z = keras.ops.convert_to_numpy(vae.ancestral_latents(epsilon.astype("f4")))
    z0 = epsilon[:, :L]
    z1 = z0 * A + C + np.sqrt(S) * epsilon[:, L:]
    np.testing.assert_allclose(z, np.concatenate([z0, z1], -1), atol=1e-5)
    # sample = decode of such a draw, at the seed's noise.
    draws = vae._prior_sample(20_000, seed=1)
    np.testing.assert_allclose(np.mean(draws[:, L:], 0), C, atol=0.04)
    np.testing.assert_allclose(np.var(draws[:, L:], 0), A**2 + S, rtol=0.05)


@pytest.mark.tensorflow_only  # The SavedModel and TFLite exports.
def test_savedmodel_and_tflite_run_the_top_down_pass(trained, mnist, tmp_path):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from keras_vae.export import fixed_noise_scores
    from keras_vae.export import score_noise

    vae, _ = trained
    x = mnist[1][:6]
    path = keras_vae.export_saved_model(vae, tmp_path / "sm", score_samples=8)
    signatures = tf.saved_model.load(str(path)).signatures
    encoded = signatures["encode"](x=x)
    z_mean, z_log_var = vae.encode(x)
    np.testing.assert_allclose(encoded["z_mean"], z_mean, atol=1e-5)
    np.testing.assert_allclose(encoded["z_log_var"], z_log_var, atol=1e-5)
    # Decoded values are pixel values 0-255 here: float32 rounding of the
    # two graphs is relative to them.
    np.testing.assert_allclose(
        signatures["reconstruct"](x=x)["reconstruction"],
        vae.reconstruct(x),
        rtol=1e-5,
        atol=1e-4,
    )
    np.testing.assert_allclose(
        signatures["decode"](z=z_mean)["x_mean"],
        vae.decode(z_mean),
        rtol=1e-5,
        atol=1e-4,
    )
    # `sample` draws every group from its prior, as `vae.sample`.
    noise = tf.random.stateless_normal(
        (3,) + vae.latent_shape, seed=tf.constant([4, 0], tf.int64)
    )
    expected = vae.decode(
        keras.ops.convert_to_numpy(vae.ancestral_latents(noise))
    )
    samples = signatures["sample"](num_samples=3, seed=np.int64(4))["samples"]
    np.testing.assert_allclose(samples, expected, rtol=1e-5, atol=1e-4)
    assert not np.allclose(expected, vae.decode(noise.numpy()), atol=1e-3)
    np.testing.assert_allclose(
        signatures["score"](x=x)["nll"],
        fixed_noise_scores(vae, x, score_noise(vae.latent_shape, 8)),
        rtol=1e-5,
    )
    # The TFLite decoder maps the prior's noise to a sample's mean.
    tflite = keras_vae.export_tflite_decoder(vae, tmp_path / "d.tflite")
    interpreter = Interpreter(model_path=str(tflite))
    runner = interpreter.get_signature_runner()
    out = runner(z=noise.numpy()[:1])["x_mean"]
    np.testing.assert_allclose(out, expected[:1], rtol=1e-5, atol=1e-4)


def test_a_skipped_non_finite_batch_stays_out_of_the_epoch_means():
    # One example so far out that its Gaussian log-density overflows: its
    # batch's loss and gradients are infinite, the guard skips the update,
    # and the epoch's loss is the mean of the batches that trained, so
    # `TerminateOnNaN` lets the run go on.
    x = sample_data(64)
    x[5, 0] = 1e30
    vae = wrong_linear_hvae(skip_gradient_norm=math.inf)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(
        x,
        batch_size=8,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[keras_vae.callbacks.TerminateOnNaN()],
    ).history
    assert history["skipped_updates"] == [1, 2]
    assert all(np.isfinite(history["loss"]))
    assert int(vae.optimizer.iterations) == 14
