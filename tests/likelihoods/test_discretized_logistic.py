"""The discretized logistic likelihoods for 8-bit pixels: exact
probabilities against float64 and 100-digit references, normalization over
every level, finite gradients at extremes, draws against the
probabilities, the mean, saving and errors."""

import decimal

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops
from scipy import special
from scipy import stats

from keras_vae import likelihoods
from keras_vae.likelihoods import Bernoulli
from keras_vae.likelihoods import DiscretizedLogistic
from keras_vae.likelihoods import DiscretizedLogisticMixture
from keras_vae.likelihoods import Gaussian

LEVELS = np.arange(256)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make(num_mixtures):
    """`DiscretizedLogistic()` for None, else the mixture."""
    if num_mixtures is None:
        return DiscretizedLogistic()
    return DiscretizedLogisticMixture(num_mixtures)


def nll(likelihood, x, params):
    return ops.convert_to_numpy(likelihood.negative_log_likelihood(x, params))


def probabilities(likelihood, x, params):
    """`p(x)` of each row of `x` `(n, C)` under its row of `params`."""
    return np.exp(-nll(likelihood, x, params).astype("float64"))


def value_and_gradient(f, params):
    """`f(params)` and the gradient of its sum over `params`, as NumPy
    arrays, with the autodiff of the Keras backend."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        params = tf.constant(params)
        with tf.GradientTape() as tape:
            tape.watch(params)
            value = f(params)
        grad = tape.gradient(value, params)
    elif backend == "jax":
        import jax

        value = f(params)
        grad = jax.grad(lambda p: ops.sum(f(p)))(params)
    elif backend == "torch":
        import torch

        params = torch.tensor(params, requires_grad=True)
        value = f(params)
        ops.sum(value).backward()
        value, grad = value.detach(), params.grad
    else:
        pytest.skip(f"No gradients on the {backend} backend")
    return ops.convert_to_numpy(value), ops.convert_to_numpy(grad)


def random_params(rng, likelihood, channels, shape, spread=2.5):
    size = likelihood.output_channels(channels)
    return (spread * rng.normal(size=shape + (size,))).astype("float32")


# --- A float64 reference: PixelCNN++'s formulas, read from its code --------


def reference_log_prob(x, params, num_mixtures):
    """`log p(x)` of each pixel of `x` `(..., C)` in float64, with
    PixelCNN++'s parameter layout, coupling and edge levels (no fallback:
    it holds its digits for log-scales up to about 15)."""
    params = np.asarray(params, "float64")
    x = np.asarray(x)
    channels = x.shape[-1]
    k = num_mixtures or 1
    n = num_mixtures or 0
    logits = params[..., :n] if n else np.zeros(params.shape[:-1] + (1,))
    blocks = params[..., n:].reshape(params.shape[:-1] + (channels, -1))
    means = blocks[..., :k].copy()
    log_scales = np.maximum(blocks[..., k : 2 * k], -7.0)
    v = x / 127.5 - 1.0
    if channels == 3:
        coeffs = np.tanh(blocks[..., 2 * k : 3 * k])
        means[..., 1, :] += coeffs[..., 0, :] * v[..., 0, None]
        means[..., 2, :] += (
            coeffs[..., 1, :] * v[..., 0, None]
            + coeffs[..., 2, :] * v[..., 1, None]
        )
    centered = v[..., None] - means
    inv_scale = np.exp(-log_scales)
    plus_in = inv_scale * (centered + 1.0 / 255)
    min_in = inv_scale * (centered - 1.0 / 255)
    # log(cdf_plus - cdf_min), in the tail the level lies in and in log
    # space, where float64 keeps its digits even far out in a tail.
    log_cdf = special.log_expit
    below_plus, below_min = log_cdf(plus_in), log_cdf(min_in)
    above_min, above_plus = log_cdf(-min_in), log_cdf(-plus_in)
    with np.errstate(divide="ignore"):  # In the tail not taken.
        log_mass = np.where(
            centered > 0,
            above_min + np.log1p(-np.exp(above_plus - above_min)),
            below_plus + np.log1p(-np.exp(below_min - below_plus)),
        )
    level = x[..., None]
    log_mass = np.where(level == 0, below_plus, log_mass)
    log_mass = np.where(level == 255, above_min, log_mass)
    log_pk = log_mass.sum(axis=-2) + special.log_softmax(logits, axis=-1)
    return special.logsumexp(log_pk, axis=-1)


def exact_log_prob(level, mean, log_scale):
    """`log P(level)` of one discretized logistic to 100 digits (decimal),
    of the float32 `mean` and `log_scale` as given."""
    with decimal.localcontext() as context:
        context.prec = 100
        context.Emax = decimal.MAX_EMAX
        context.Emin = decimal.MIN_EMIN
        D = decimal.Decimal

        def sigmoid(t):
            return 1 / (1 + (-t).exp())

        inv_scale = (-D(max(float(log_scale), -7.0))).exp()
        centered = D(int(level)) / D("127.5") - 1 - D(float(mean))
        a = inv_scale * (centered + D(1) / 255)
        b = inv_scale * (centered - D(1) / 255)
        if level == 0:
            mass = sigmoid(a)
        elif level == 255:
            mass = sigmoid(-b)
        elif centered > 0:
            mass = sigmoid(-b) - sigmoid(-a)
        else:
            mass = sigmoid(a) - sigmoid(b)
        return float(mass.ln())


# --- Exact probabilities ----------------------------------------------------


@pytest.mark.parametrize("num_mixtures", [None, 1, 5])
def test_the_256_levels_of_one_channel_sum_to_one(rng, num_mixtures):
    likelihood = make(num_mixtures)
    num_sets = 20
    params = random_params(rng, likelihood, 1, (num_sets,))
    x = np.repeat(LEVELS, num_sets)[:, None]
    tiled = np.tile(params, (256, 1))
    p = probabilities(likelihood, x, tiled).reshape(256, num_sets)
    np.testing.assert_allclose(p.sum(axis=0), 1.0, atol=1e-5)


@pytest.mark.parametrize("num_mixtures", [None, 3])
def test_the_joint_of_two_independent_channels_sums_to_one(rng, num_mixtures):
    likelihood = make(num_mixtures)
    x = np.stack(np.meshgrid(LEVELS, LEVELS, indexing="ij"), -1)
    x = x.reshape(-1, 2)
    for params in random_params(rng, likelihood, 2, (3,)):
        tiled = np.tile(params, (len(x), 1))
        p = probabilities(likelihood, x, tiled)
        np.testing.assert_allclose(p.sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("num_mixtures", [None, 2])
def test_the_joint_of_coupled_rgb_sums_to_one_over_256_cubed(rng, num_mixtures):
    likelihood = make(num_mixtures)
    params = random_params(rng, likelihood, 3, (), spread=1.0)
    # Strong coupling and a component leaning on an edge.
    params[..., -1] = 3.0
    g_b = np.stack(np.meshgrid(LEVELS, LEVELS, indexing="ij"), -1)
    g_b = g_b.reshape(-1, 2)
    chunk = 8  # Values of R per call: 8 * 65536 pixels.
    tiled = np.tile(params, (chunk * len(g_b), 1))
    total = 0.0
    for r in range(0, 256, chunk):
        reds = np.repeat(np.arange(r, r + chunk), len(g_b))[:, None]
        x = np.concatenate([reds, np.tile(g_b, (chunk, 1))], axis=1)
        total += probabilities(likelihood, x, tiled).sum()
    np.testing.assert_allclose(total, 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "num_mixtures, channels",
    [(None, 1), (None, 3), (1, 1), (3, 1), (3, 2), (4, 3), (2, 4)],
)
def test_matches_a_float64_pixelcnn_reference(rng, num_mixtures, channels):
    likelihood = make(num_mixtures)
    params = random_params(rng, likelihood, channels, (6, 3, 5))
    x = rng.integers(0, 256, size=(6, 3, 5, channels))
    # A fifth of the values at each edge level.
    edge = rng.uniform(size=x.shape)
    x[edge < 0.2] = 0
    x[edge > 0.8] = 255
    expected = -reference_log_prob(x, params, num_mixtures).sum(axis=(1, 2))
    got = nll(likelihood, x.astype("uint8"), params)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=1e-3)


def test_float_pixels_equal_uint8_pixels(rng):
    likelihood = DiscretizedLogisticMixture(3)
    params = random_params(rng, likelihood, 3, (2, 4, 4))
    x = rng.integers(0, 256, size=(2, 4, 4, 3))
    np.testing.assert_array_equal(
        nll(likelihood, x.astype("uint8"), params),
        nll(likelihood, x.astype("float32"), params),
    )


MEANS = [-1e4, -3.0, -1.0, 0.0, 0.3, 1.0, 3.0, 1e4]
LOG_SCALES = [-50.0, -7.0, -3.0, 0.0, 5.0, 50.0, 100.0]
EDGE_AND_INNER_LEVELS = [0, 1, 100, 254, 255]


def test_exact_and_finite_gradients_at_extremes():
    # Small scales several levels from the mean are where PixelCNN++'s
    # float32 CDF difference underflows and it falls back to the density;
    # here the log-probability is exact there too.
    grid = np.array(
        [
            (level, mean, log_scale)
            for level in EDGE_AND_INNER_LEVELS
            for mean in MEANS
            for log_scale in LOG_SCALES
        ]
    )
    x = grid[:, :1].astype("float32")
    values = grid[:, 1:].astype("float32")
    result, grad = value_and_gradient(
        lambda params: DiscretizedLogistic().negative_log_likelihood(x, params),
        values,
    )
    assert np.all(np.isfinite(result))
    assert np.all(np.isfinite(grad))
    expected = [
        -exact_log_prob(level, mean, log_scale)
        for level, (mean, log_scale) in zip(grid[:, 0], values)
    ]
    np.testing.assert_allclose(result, expected, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("channels", [1, 3])
def test_gradients_are_finite_for_extreme_mixtures(rng, channels):
    likelihood = DiscretizedLogisticMixture(4)
    size = likelihood.output_channels(channels)
    extremes = [-1e4, -100.0, -7.5, 0.0, 7.5, 100.0, 1e4]
    params = rng.choice(extremes, size=(64, size))
    # Log-scales up to 12, where the reference keeps its digits.
    blocks = params[:, 4:].reshape(64, channels, -1)
    blocks[..., 4:8] = rng.choice(
        [-100.0, -7.5, 0.0, 7.5, 12.0], (64, channels, 4)
    )
    params[:, 4:] = blocks.reshape(64, -1)
    params = params.astype("float32")
    x = rng.choice([0, 1, 128, 254, 255], size=(64, channels))
    result, grad = value_and_gradient(
        lambda params: likelihood.negative_log_likelihood(x, params), params
    )
    assert np.all(np.isfinite(result))
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(
        result, -reference_log_prob(x, params, 4), rtol=1e-5, atol=1e-5
    )


def test_float32_under_mixed_precision(rng):
    keras.config.set_dtype_policy("mixed_float16")
    likelihood = DiscretizedLogisticMixture(3)
    params = random_params(rng, likelihood, 3, (2, 4, 4), spread=1.0)
    half = params.astype("float16")
    x = rng.integers(0, 256, size=(2, 4, 4, 3))
    for got, expected in [
        (
            likelihood.negative_log_likelihood(x, half),
            likelihood.negative_log_likelihood(x, half.astype("float32")),
        ),
        (likelihood.mean(half), likelihood.mean(half.astype("float32"))),
        (
            likelihood.draw(half, seed=0),
            likelihood.draw(half.astype("float32"), seed=0),
        ),
    ]:
        assert keras.backend.standardize_dtype(got.dtype) == "float32"
        np.testing.assert_array_equal(
            ops.convert_to_numpy(got), ops.convert_to_numpy(expected)
        )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="tf.function with unknown shapes: TensorFlow's own compilation",
)
@pytest.mark.tensorflow_only  # differentiates or compiles with TensorFlow
def test_compiled_with_unknown_shapes(rng):
    likelihood = DiscretizedLogisticMixture(2)
    params = random_params(rng, likelihood, 3, (2, 3, 4), spread=1.0)
    x = rng.integers(0, 256, size=(2, 3, 4, 3)).astype("float32")
    params_spec = tf.TensorSpec((None, None, None, 20), "float32")
    x_spec = tf.TensorSpec((None, None, None, 3), "float32")

    @tf.function(input_signature=[x_spec, params_spec], jit_compile=True)
    def compiled_nll(x, params):
        return likelihood.negative_log_likelihood(x, params)

    @tf.function(input_signature=[params_spec])
    def compiled_draws(params):
        return likelihood.mean(params), likelihood.draw(params, seed=1)

    np.testing.assert_allclose(
        compiled_nll(x, params).numpy(), nll(likelihood, x, params), 1e-6
    )
    mean, draws = compiled_draws(params)
    assert mean.shape == draws.shape == (2, 3, 4, 3)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="jax.jit")
def test_compiled_with_jax_jit(rng):
    import jax

    likelihood = DiscretizedLogisticMixture(2)
    params = random_params(rng, likelihood, 3, (2, 3, 4), spread=1.0)
    x = rng.integers(0, 256, size=(2, 3, 4, 3)).astype("float32")
    compiled_nll = jax.jit(likelihood.negative_log_likelihood)
    np.testing.assert_allclose(
        compiled_nll(x, params), nll(likelihood, x, params), 1e-6
    )
    mean, draws = jax.jit(
        lambda p: (likelihood.mean(p), likelihood.draw(p, seed=1))
    )(params)
    assert mean.shape == draws.shape == (2, 3, 4, 3)


# --- Draws and the mean -----------------------------------------------------


def test_draws_of_one_channel_follow_the_probabilities():
    likelihood = DiscretizedLogisticMixture(3)
    # Components of 6, 2 and 10 levels' scale, the last against 255.
    params = np.array(
        [[0.0, 0.5, -0.5, -0.5, 0.2, 0.95, -3.0, -4.0, -2.5]], "float32"
    )
    p = probabilities(likelihood, LEVELS[:, None], np.tile(params, (256, 1)))
    n = 200_000
    draws = ops.convert_to_numpy(
        likelihood.draw(np.tile(params, (n, 1)), seed=0)
    )
    assert draws.shape == (n, 1) and draws.dtype == np.float32
    assert np.all(draws == np.round(draws))
    counts = np.bincount(draws[:, 0].astype(int), minlength=256)
    assert len(counts) == 256
    # Every level within 5 standard errors, and a chi-square over the levels
    # expected 5 times or more, the others pooled.
    freq = counts / n
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / n) + 5 / n)
    assert chi_square_p_value(counts, n * p) > 1e-3
    # The sample mean is the expectation, which `mean` gives to 0.02.
    exact_mean = np.sum(LEVELS * p)
    standard_error = np.sqrt(np.sum(LEVELS**2 * p) - exact_mean**2) / n**0.5
    assert abs(draws.mean() - exact_mean) < 5 * standard_error
    mean = ops.convert_to_numpy(likelihood.mean(params))
    assert mean.shape == (1, 1)
    assert abs(mean[0, 0] - exact_mean) < 0.02


def chi_square_p_value(counts, expected, minimum=5.0):
    big = expected >= minimum
    observed = np.append(counts[big], counts[~big].sum())
    expected = np.append(expected[big], expected[~big].sum())
    keep = expected > 0
    statistic = np.sum((observed - expected)[keep] ** 2 / expected[keep])
    return stats.chi2.sf(statistic, df=keep.sum() - 1)


@pytest.mark.parametrize("num_mixtures", [None, 2])
@pytest.mark.parametrize("scale", [0.4, 1.5])
def test_draws_of_coupled_rgb_follow_the_probabilities(num_mixtures, scale):
    likelihood = make(num_mixtures)
    k = num_mixtures or 1
    # Scales of `scale` levels, strong coupling: G and B move by 0.9 of R
    # and G. At 0.4 levels, coupling to R and G before their rounding, as
    # PixelCNN++'s sampler does, fails the test.
    logits = [0.3, -0.3][:k] if num_mixtures else []
    blocks = []
    for channel, mean in enumerate([-0.6, 0.1, 0.4]):
        blocks += [mean + 0.4 * j for j in range(k)]
        blocks += [np.log(scale / 127.5)] * k
        blocks += [1.5 * (-1) ** channel] * k
    params = np.array([logits + blocks], "float32")
    n = 200_000
    draws = ops.convert_to_numpy(
        likelihood.draw(np.tile(params, (n, 1)), seed=7)
    ).astype(int)
    assert draws.shape == (n, 3)
    # The cells of the first half, tested on the second.
    cells = np.unique(draws[: n // 2], axis=0)
    p = probabilities(likelihood, cells, np.tile(params, (len(cells), 1)))
    assert p.sum() > 0.95
    codes = (draws[n // 2 :] * [65536, 256, 1]).sum(axis=1)
    cell_codes = (cells * [65536, 256, 1]).sum(axis=1)
    counts = np.array([np.sum(codes == c) for c in cell_codes])
    others = n // 2 - counts.sum()
    assert (
        chi_square_p_value(
            np.append(counts, others), n // 2 * np.append(p, 1 - p.sum())
        )
        > 1e-3
    )


def test_draws_are_levels_and_seeded(rng):
    likelihood = DiscretizedLogisticMixture(3)
    params = random_params(rng, likelihood, 3, (4, 5, 6))
    first = ops.convert_to_numpy(likelihood.draw(params, seed=3))
    again = ops.convert_to_numpy(likelihood.draw(params, seed=3))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (4, 5, 6, 3)
    assert np.all((first >= 0) & (first <= 255) & (first == np.round(first)))
    generator = keras.random.SeedGenerator(3)
    a = likelihood.draw(params, seed=generator)
    b = likelihood.draw(params, seed=generator)
    assert not np.array_equal(ops.convert_to_numpy(a), ops.convert_to_numpy(b))


def reference_clipped_mean(mean, log_scale):
    """E[clip(U, 0, 255)] in float64, U the logistic in levels."""
    s = np.exp(np.maximum(log_scale, -7.0))
    return (
        127.5
        * s
        * (np.logaddexp(0, (mean + 1) / s) - np.logaddexp(0, (mean - 1) / s))
    )


def test_mean_of_one_logistic_is_the_clipped_expectation(rng):
    n = 400
    means = rng.uniform(-1.5, 1.5, size=n)
    log_scales = rng.uniform(-8.0, 3.0, size=n)
    params = np.stack([means, log_scales], -1).astype("float32")
    likelihood = DiscretizedLogistic()
    mean = ops.convert_to_numpy(likelihood.mean(params))[:, 0]
    expected = reference_clipped_mean(
        params[:, 0].astype("float64"), params[:, 1].astype("float64")
    )
    np.testing.assert_allclose(mean, expected, atol=2e-4)
    # Against the discretized value's own expectation: the rounding.
    p = probabilities(
        likelihood,
        np.repeat(LEVELS, n)[:, None],
        np.tile(params, (256, 1)),
    ).reshape(256, n)
    exact = LEVELS @ p
    assert np.all(np.abs(mean - exact) < 0.5)
    wide = params[:, 1] >= np.log(1 / 127.5)
    assert wide.sum() > 100
    assert np.all(np.abs(mean - exact)[wide] < 0.02)


def test_mean_is_finite_and_continuous_at_extremes():
    log_scales = np.array(
        [-50, -7, -1e-3, 0, 1e-3, 5, 20 - 1e-3, 20, 20 + 1e-3, 50, 100, 1e4]
    )
    means = np.array([-1e4, -30, -1, 0, 0.5, 1, 30, 1e4])
    grid = np.array([(m, s) for m in means for s in log_scales], "float32")
    mean = ops.convert_to_numpy(DiscretizedLogistic().mean(grid))[:, 0]
    assert np.all((mean >= 0) & (mean <= 255))
    mean = mean.reshape(len(means), len(log_scales))
    # Where float64 keeps its digits, the closed form itself.
    moderate = log_scales <= 15
    values = grid.reshape(len(means), len(log_scales), 2)[:, moderate]
    expected = reference_clipped_mean(
        values[..., 0].astype("float64"), values[..., 1].astype("float64")
    )
    np.testing.assert_allclose(mean[:, moderate], expected, atol=2e-4)
    # Across the switch to the midpoint rule at log-scale 20 (the one at 0
    # is within the reference's range).
    np.testing.assert_allclose(mean[:, 6], mean[:, 8], atol=1e-3)
    # Wide scales: half the mass at each edge level.
    np.testing.assert_allclose(mean[2:-2, -3:], 127.5, atol=1e-3)


def test_mean_of_coupled_rgb_mixture(rng):
    likelihood = DiscretizedLogisticMixture(3)
    params = random_params(rng, likelihood, 3, (50,), spread=1.0)
    mean = ops.convert_to_numpy(likelihood.mean(params))
    assert mean.shape == (50, 3) and mean.dtype == np.float32
    # The documented reference: each component's R, then G and B at means
    # moved by the expected R and G, mixed by the weights.
    p = params.astype("float64")
    weights = special.softmax(p[:, :3], axis=-1)
    blocks = p[:, 3:].reshape(50, 3, 9)
    mu, log_s = blocks[..., :3], blocks[..., 3:6]
    alpha, beta, gamma = np.tanh(blocks[..., 6:]).transpose(1, 0, 2)
    r = reference_clipped_mean(mu[:, 0], log_s[:, 0])
    g = reference_clipped_mean(mu[:, 1] + alpha * (r / 127.5 - 1), log_s[:, 1])
    b = reference_clipped_mean(
        mu[:, 2] + beta * (r / 127.5 - 1) + gamma * (g / 127.5 - 1),
        log_s[:, 2],
    )
    expected = np.stack([r, g, b], 1) @ weights[..., None]
    np.testing.assert_allclose(mean, expected[..., 0], atol=2e-4)


# --- Layout, registration, saving -------------------------------------------


def test_output_channels():
    mixture = DiscretizedLogisticMixture()
    assert mixture.num_mixtures == 10
    assert [mixture.output_channels(c) for c in (1, 2, 3, 4)] == [
        30,
        50,
        100,
        90,
    ]
    single = DiscretizedLogistic()
    assert [single.output_channels(c) for c in (1, 2, 3, 4)] == [2, 4, 9, 8]
    with pytest.raises(ValueError, match="Received: data_channels=0"):
        single.output_channels(0)


def test_attributes_of_every_likelihood():
    for cls in (DiscretizedLogistic, DiscretizedLogisticMixture):
        assert cls.pixel_values is True
        assert cls.has_logits is False
        assert cls.continuous is False
    assert Bernoulli.pixel_values is False
    assert Gaussian.pixel_values is False


@pytest.mark.parametrize(
    # 6 would be 3 independent channels, 28 three for 4 components: RGB
    # takes 9 and 40.
    "num_mixtures, size",
    [(None, 5), (None, 6), (None, 41), (4, 5), (4, 28), (4, 30)],
)
def test_params_of_no_layout_raise(num_mixtures, size):
    likelihood = make(num_mixtures)
    with pytest.raises(ValueError, match=rf"params.shape\[-1\]={size}"):
        likelihood.build((None, 8, 8, size))
    with pytest.raises(ValueError, match=rf"params.shape\[-1\]={size}"):
        likelihood.mean(np.zeros((1, size), "float32"))


def test_data_of_other_channels_than_params_raise():
    likelihood = DiscretizedLogisticMixture(2)
    with pytest.raises(ValueError, match=r"x.shape=\(1, 1\)"):
        likelihood.negative_log_likelihood(
            np.zeros((1, 1)), np.zeros((1, 20), "float32")
        )


def test_config_round_trip():
    for layer in (
        DiscretizedLogisticMixture(4, name="dlm"),
        DiscretizedLogistic(),
    ):
        config = layer.get_config()
        revived = type(layer).from_config(config)
        assert revived.get_config() == config
        serialized = keras.saving.serialize_keras_object(layer)
        revived = likelihoods.get(serialized)
        assert type(revived) is type(layer)
        assert revived.num_mixtures == layer.num_mixtures
    assert "num_mixtures" not in DiscretizedLogistic().get_config()


def test_get_by_name_and_instance():
    mixture = likelihoods.get("discretized_logistic_mixture")
    assert type(mixture) is DiscretizedLogisticMixture
    assert mixture.num_mixtures == 10
    assert type(likelihoods.get("Discretized_Logistic")) is DiscretizedLogistic
    for instance in (DiscretizedLogistic(), DiscretizedLogisticMixture(2)):
        assert likelihoods.get(instance) is instance


# --- Errors -----------------------------------------------------------------


@pytest.mark.parametrize("num_mixtures", [0, -1, 2.5, True, "3", None])
def test_invalid_num_mixtures_raises(num_mixtures):
    with pytest.raises(ValueError, match="Received: num_mixtures="):
        DiscretizedLogisticMixture(num_mixtures)


@pytest.mark.parametrize(
    "x, match",
    [
        (np.zeros((2, 3), bool), r"Received: x.dtype=bool"),
        (np.array([[0, 256]]), r"Received: min=0, max=256"),
        (np.array([[-1.0, 3.0]]), r"Received: min=-1, max=3"),
        (np.array([[0.0, 0.5, 1.0]]), r"rescaled to \[0, 1\].*Received: x "),
        (np.array([[3.0, 7.5]]), r"np.round\(x\).*1 non-integer values"),
    ],
)
def test_invalid_data_raises(x, match):
    with pytest.raises(ValueError, match=match):
        DiscretizedLogisticMixture().check_inputs(x, x.shape[1:])


def test_valid_data_passes():
    likelihood = DiscretizedLogistic()
    for x in (
        np.array([[0, 255]], "uint8"),
        np.array([[0.0, 17.0, 255.0]], "float32"),
        np.array([[0, 1]], "int64"),
    ):
        assert likelihood.check_inputs(x, x.shape[1:]) is x
    likelihood.check_dtype("uint8")
    with pytest.raises(ValueError, match="Received: x.dtype=<U3"):
        likelihood.check_dtype("<U3")
