"""The hierarchical builders train with the stability options on: the
defaults their docstrings state, each one switched off by `None`, and the
default bound at work on the log-variances."""

import math

import keras
import numpy as np
import pytest

import keras_vae


def build_conv(**kwargs):
    return keras_vae.build_hierarchical_vae(
        input_shape=(12, 12, 1),
        latent_channels=((2, 2),),
        filters=(4,),
        seed=0,
        **kwargs,
    )


def build_mlp(**kwargs):
    return keras_vae.build_hierarchical_mlp_vae(
        input_shape=(13,), latent_dims=(2, 3), hidden_units=(8, 8), **kwargs
    )


def options(vae):
    guard = vae.update_guard
    return (
        vae.log_variance_bound,
        guard.clip_gradient_norm,
        guard.skip_gradient_norm,
        guard.max_consecutive_skips,
    )


@pytest.mark.parametrize(
    "builder, kwargs, clip",
    [
        (
            keras_vae.build_hierarchical_vae,
            {"input_shape": (32, 32, 3), "filters": (4, 4)},
            614_400,
        ),
        (
            keras_vae.build_hierarchical_vae,
            {"input_shape": (28, 28, 1), "filters": (4, 4)},
            156_800,
        ),
        (
            keras_vae.build_hierarchical_mlp_vae,
            {
                "input_shape": (28, 28, 1),
                "latent_dims": (2,),
                "hidden_units": (4,),
            },
            156_800,
        ),
        (
            keras_vae.build_hierarchical_mlp_vae,
            {"input_shape": (13,), "latent_dims": (2,), "hidden_units": (4,)},
            2_600,
        ),
    ],
)
def test_the_defaults_are_the_documented_ones(builder, kwargs, clip):
    # Log-variances within ±7, gradients clipped at 200 per value of one
    # example (614,400 for CIFAR-10, 156,800 for MNIST, as the docstrings
    # say), non-finite updates skipped.
    vae = builder(**kwargs)
    assert options(vae) == (7.0, clip, math.inf, 100)
    assert vae.update_guard.active


@pytest.mark.parametrize("build", [build_conv, build_mlp])
def test_each_option_switches_off(build):
    off = build(
        log_variance_bound=None,
        clip_gradient_norm=None,
        skip_gradient_norm=None,
    )
    assert options(off) == (None, None, None, 100)
    assert not off.update_guard.active
    # A number is passed on as it is.
    given = build(
        log_variance_bound=3.0, clip_gradient_norm=10.0, skip_gradient_norm=50.0
    )
    assert options(given) == (3.0, 10.0, 50.0, 100)


@pytest.mark.parametrize("bound", ["default", None])
def test_the_default_bound_holds_runaway_log_variances(bound):
    # Heads that output log-variances of +40 (posteriors) and -40 (the
    # prior below the top): within ±7 by default, as given without a bound.
    kwargs = {} if bound == "default" else {"log_variance_bound": None}
    vae = build_conv(**kwargs)
    for layer in [vae.posteriors[0].get_layer("posterior_0_log_var")] + [
        vae.posteriors[1].get_layer("posterior_1_log_var")
    ]:
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel * 0, bias + 40.0])
    prior = vae.priors[0].get_layer("prior_1_log_var")
    kernel, bias = prior.get_weights()
    prior.set_weights([kernel * 0, bias - 40.0])
    x = np.random.default_rng(0).uniform(size=(4, 12, 12, 1)).astype("float32")
    _, q_log_var = vae.encode(x)
    _, p_log_var = (keras.ops.convert_to_numpy(t) for t in vae.prior_params(x))
    top = math.prod(vae.group_shapes[0])
    if bound == "default":
        np.testing.assert_allclose(
            q_log_var, 7.0 * math.tanh(40 / 7), rtol=1e-6
        )
        np.testing.assert_allclose(
            p_log_var[:, top:], -7.0 * math.tanh(40 / 7), rtol=1e-6
        )
    else:
        np.testing.assert_allclose(q_log_var, 40.0)
        np.testing.assert_allclose(p_log_var[:, top:], -40.0)


def test_fit_logs_the_gradient_norm_and_the_skips_by_default():
    # What to set the thresholds from, and that nothing was skipped.
    keras.utils.set_random_seed(0)
    vae = build_conv()
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    x = np.random.default_rng(0).uniform(size=(32, 12, 12, 1)).astype("float32")
    history = vae.fit(x, batch_size=8, epochs=2, verbose=0).history
    assert history["skipped_updates"] == [0, 0]
    assert all(0 < n < math.inf for n in history["gradient_norm"])
    assert all(np.isfinite(history["loss"]))
