"""`point_scores`: one causal score per time step, the served `score` of the
window that ends there."""

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.datasets import windows
from keras_vae.evaluation import anomaly_threshold
from keras_vae.evaluation import point_scores
from keras_vae.export import fixed_noise_scores
from keras_vae.export import score_noise

WINDOW = 12


def series(steps, seed=0):
    """Two sensors: a sine in volts around 230 and its cosine in amps."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    wave = np.concatenate([np.sin(t / 5.0), np.cos(t / 5.0)], axis=1)
    x = wave + 0.05 * rng.standard_normal((steps, 2))
    return (x * np.array([10.0, 0.5]) + np.array([230.0, 2.0])).astype(
        "float32"
    )


@pytest.fixture(scope="module")
def vae():
    keras.utils.set_random_seed(0)
    x = windows(series(1500), WINDOW)
    normalization = keras.layers.Normalization(axis=-1)
    normalization.adapt(x)
    vae = keras_vae.build_sequence_vae(
        (WINDOW, 2),
        latent_dim=4,
        filters=8,
        dilations=(1, 2),
        hidden_units=(16,),
        preprocessing=normalization,
        seed=0,
    )
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    vae.fit(x, epochs=10, batch_size=32, verbose=0)
    return vae


def test_each_step_scores_the_window_that_ends_there(vae):
    x = series(40, seed=1)
    scores = point_scores(vae, x, num_samples=4, seed=7, verbose=0)
    expected = keras.ops.convert_to_numpy(
        fixed_noise_scores(vae, windows(x, WINDOW), score_noise((4,), 4, 7))
    )
    assert scores.shape == (40,) and scores.dtype == np.float64
    np.testing.assert_allclose(scores[WINDOW - 1 :], expected, rtol=1e-5)
    # The steps before the first window's end take its score.
    np.testing.assert_array_equal(scores[: WINDOW - 1], scores[WINDOW - 1])


def test_a_stride_keeps_the_latest_window_at_or_before_each_step(vae):
    x = series(40, seed=2)
    every = point_scores(vae, x, num_samples=4, verbose=0)
    strided = point_scores(vae, x, stride=5, num_samples=4, verbose=0)
    for t in range(40):
        latest = WINDOW - 1 + max(t - (WINDOW - 1), 0) // 5 * 5
        assert strided[t] == pytest.approx(every[latest], rel=1e-5)


def test_scores_are_causal(vae):
    """A step's score is the same whether or not later steps exist."""
    x = series(300, seed=3)
    full = point_scores(vae, x, verbose=0, batch_size=64)
    for end in (WINDOW, 57, 200):
        np.testing.assert_allclose(
            point_scores(vae, x[:end], verbose=0), full[:end], rtol=1e-5
        )


def test_a_threshold_from_the_normal_start_finds_a_spike(vae):
    x = series(1200, seed=4)
    x[900, 0] += 40.0  # 4 amplitudes off, in volts
    scores = point_scores(vae, x, verbose=0)
    assert np.all(np.isfinite(scores))
    threshold = anomaly_threshold(scores[:600], quantile=0.999)
    alarms = np.flatnonzero(scores > threshold)
    # The spike raises exactly the windows that hold it, from its own step.
    assert 900 <= np.argmax(scores) < 900 + WINDOW
    assert scores[900] > threshold and scores[899] < threshold
    # Normal steps after the reference stretch: few false alarms.
    normal = alarms[
        (alarms >= 600) & ((alarms < 900) | (alarms >= 900 + WINDOW))
    ]
    assert len(normal) <= 5


@pytest.mark.parametrize(
    "make_series, kwargs, match",
    [
        (lambda: series(50)[:, :1], {}, r"\(steps, 2\).*shape=\(50, 1\)"),
        (lambda: series(WINDOW - 1), {}, r"11 steps, fewer than one window"),
        (lambda: np.full((50, 2), "a"), {}, r"numbers.*dtype=<U1"),
        (lambda: series(50), {"window": 20}, r"windows of 12.*window=20"),
        (lambda: series(50), {"stride": 0}, r"stride=0"),
    ],
)
def test_bad_input(vae, make_series, kwargs, match):
    with pytest.raises(ValueError, match=match):
        point_scores(vae, make_series(), verbose=0, **kwargs)


def test_a_missing_value_is_named_by_step_and_channel(vae):
    x = series(50)
    x[31, 1] = np.nan
    with pytest.raises(ValueError, match=r"step 31, channel 1: nan.*fill"):
        point_scores(vae, x, verbose=0)


def test_a_model_of_images_is_refused():
    vae = keras_vae.build_mlp_vae((4, 4, 1), latent_dim=2, hidden_units=(4,))
    with pytest.raises(ValueError, match=r"data_shape=\(4, 4, 1\)"):
        point_scores(vae, np.zeros((20, 1)), verbose=0)
