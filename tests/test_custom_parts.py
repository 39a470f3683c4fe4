"""A prior and a likelihood written by a user against the documented
names only (examples/custom_parts, shown in
docs/guides/writing_your_own_parts.md) do everything the shipped parts do:
`fit`, `evaluate`, `log_likelihood`, `anomaly_scores`, `sample`, `.keras`
files, the SavedModel's `sample` and `score` and the TFLite decoder."""

import math
from pathlib import Path

import keras
import numpy as np
import pytest
from example_parts import LaplaceLikelihood
from example_parts import LearnedGaussianPrior
from scipy import stats

import keras_vae

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "custom_parts"


def numpy(t):
    return keras.ops.convert_to_numpy(t)


def table():
    """scikit-learn's diabetes table: 442 rows of 10 real features."""
    from sklearn.datasets import load_diabetes

    return load_diabetes().data.astype("float32")


def test_the_parts_compute_their_densities():
    prior = LearnedGaussianPrior()
    prior.build((None, 3))
    prior.mean.assign([0.5, -1.0, 2.0])
    prior.log_var.assign([0.2, -0.3, 0.0])
    z = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")
    expected = stats.norm.logpdf(
        z, [0.5, -1.0, 2.0], np.exp(0.5 * np.array([0.2, -0.3, 0.0]))
    ).sum(axis=1)
    np.testing.assert_allclose(
        numpy(prior.log_prob(keras.ops.convert_to_tensor(z))),
        expected,
        rtol=1e-5,
    )

    likelihood = LaplaceLikelihood()
    likelihood.build((None, 3))
    likelihood.log_scale.assign([0.0, 0.5, -0.5])
    x = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    params = np.random.default_rng(2).normal(size=(4, 3)).astype("float32")
    expected = -stats.laplace.logpdf(x, params, np.exp([0.0, 0.5, -0.5])).sum(
        axis=1
    )
    np.testing.assert_allclose(
        numpy(
            likelihood.negative_log_likelihood(
                keras.ops.convert_to_tensor(x),
                keras.ops.convert_to_tensor(params),
            )
        ),
        expected,
        rtol=1e-5,
    )
    draws = numpy(likelihood.draw(keras.ops.zeros((20_000, 3)), seed=0))
    # A Laplace of scale b has variance 2 b^2.
    np.testing.assert_allclose(
        draws.std(0), np.sqrt(2) * np.exp([0.0, 0.5, -0.5]), rtol=0.03
    )


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    rows = table()
    normalization = keras.layers.Normalization(axis=-1)
    normalization.adapt(rows[:400])
    vae = keras_vae.build_mlp_vae(
        input_shape=(10,),
        latent_dim=3,
        hidden_units=(32,),
        likelihood=LaplaceLikelihood(),
        prior=LearnedGaussianPrior(),
        preprocessing=normalization,
        seed=0,
    )
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = vae.fit(rows[:400], epochs=15, batch_size=40, verbose=0).history
    return vae, rows, history


def test_fit_trains_the_prior_and_the_likelihood_with_the_model(trained):
    vae, rows, history = trained
    assert history["loss"][-1] < history["loss"][0] - 1.0
    # The learned weights moved from their starting values.
    assert np.abs(numpy(vae.prior.mean)).max() > 1e-3
    assert np.abs(numpy(vae.likelihood.log_scale)).max() > 1e-2
    logs = vae.evaluate(rows[400:], return_dict=True, verbose=0)
    assert logs["loss"] == pytest.approx(
        logs["reconstruction_loss"] + logs["kl_loss"], rel=1e-5
    )


def test_the_reconstruction_loss_is_the_laplace_density_of_the_raw_rows(
    trained,
):
    vae, rows, _ = trained
    x = rows[400:410]
    z_mean, _ = vae.encode(x)
    params = numpy(vae.decoder(z_mean))
    scale, offset = (
        1 / np.sqrt(numpy(vae.preprocessing.variance)),
        -numpy(vae.preprocessing.mean)
        / np.sqrt(numpy(vae.preprocessing.variance)),
    )
    # The density of the raw rows: that of the standardized ones times the
    # Jacobian of the standardization.
    b = np.exp(numpy(vae.likelihood.log_scale))
    expected = -(
        stats.laplace.logpdf(x * scale + offset, params, b) + np.log(scale)
    ).sum(axis=1)
    np.testing.assert_allclose(
        numpy(vae.negative_log_likelihood(x, params)), expected, rtol=1e-4
    )


def test_estimates_samples_and_scores(trained):
    vae, rows, _ = trained
    log_px = keras_vae.evaluation.log_likelihood(
        vae, rows[400:], num_samples=500, seed=0, verbose=0
    )
    elbo = -vae.evaluate(rows[400:], return_dict=True, verbose=0)["loss"]
    assert np.all(np.isfinite(log_px))
    # Tighter than the ELBO (within the ELBO's own noise).
    assert log_px.mean() > elbo - 0.5
    scores = keras_vae.evaluation.anomaly_scores(
        vae, rows[400:], num_samples=100, seed=0, verbose=0
    )
    shifted = rows[400:] + 10 * rows[:400].std(0)
    unusual = keras_vae.evaluation.anomaly_scores(
        vae, shifted, num_samples=100, seed=0, verbose=0
    )
    assert np.median(unusual) > np.median(scores) + 10
    samples = vae.sample(2000, seed=1)
    # Rows in their own units, near the data's spread.
    assert samples.shape == (2000, 10)
    np.testing.assert_allclose(
        samples.mean(0), rows.mean(0), atol=0.5 * rows.std(0).max()
    )
    z = numpy(vae.sample_latents(20_000, seed=2))
    np.testing.assert_allclose(z.mean(0), numpy(vae.prior.mean), atol=0.05)


def test_the_file_loads_with_the_same_parts_and_outputs(trained, tmp_path):
    vae, rows, _ = trained
    path = tmp_path / "custom.keras"
    vae.save(path)
    loaded = keras_vae.load_vae(path)
    assert isinstance(loaded.prior, LearnedGaussianPrior)
    assert isinstance(loaded.likelihood, LaplaceLikelihood)
    np.testing.assert_allclose(
        loaded.reconstruct(rows[:5]), vae.reconstruct(rows[:5]), rtol=1e-5
    )
    np.testing.assert_array_equal(
        numpy(loaded.prior.log_var), numpy(vae.prior.log_var)
    )
    np.testing.assert_allclose(
        keras_vae.evaluation.log_likelihood(
            loaded, rows[:5], num_samples=50, seed=3, verbose=0
        ),
        keras_vae.evaluation.log_likelihood(
            vae, rows[:5], num_samples=50, seed=3, verbose=0
        ),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        loaded.sample(4, seed=5), vae.sample(4, seed=5), rtol=1e-5
    )


@pytest.mark.tensorflow_only
def test_the_saved_model_samples_and_scores_and_the_tflite_decoder_decodes(
    trained, tmp_path
):
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    vae, rows, _ = trained
    path = keras_vae.export_saved_model(vae, tmp_path / "serving")
    signatures = tf.saved_model.load(path).signatures
    samples = signatures["sample"](num_samples=4, seed=np.int64(7))
    np.testing.assert_allclose(
        samples["samples"], vae.sample(4, seed=7), rtol=1e-5, atol=1e-5
    )
    epsilon = keras_vae.export.score_noise(vae.latent_shape, 100, seed=0)
    np.testing.assert_allclose(
        signatures["score"](x=rows[:6])["nll"],
        numpy(keras_vae.export.fixed_noise_scores(vae, rows[:6], epsilon)),
        rtol=1e-5,
    )
    tflite = keras_vae.export_tflite_decoder(vae, tmp_path / "d.tflite")
    decode = Interpreter(model_path=str(tflite)).get_signature_runner()
    z = numpy(vae.sample_latents(3, seed=4))
    runner_out = np.concatenate(
        [decode(z=z[i : i + 1])["x_mean"] for i in range(3)]
    )
    np.testing.assert_allclose(runner_out, vae.decode(z), rtol=1e-4, atol=1e-4)
    assert math.isfinite(float(runner_out.sum()))


def guide_blocks():
    """The Python blocks of docs/guides/writing_your_own_parts.md, in order."""
    text = EXAMPLES.parents[1] / "docs" / "guides" / "writing_your_own_parts.md"
    text = text.read_text()
    return [
        block.split("\n", 1)[1]
        for block in text.split("```python")[1:]
        for block in [block.split("```")[0]]
    ]


def test_the_guide_shows_the_files_the_tests_run():
    prior, likelihood, _ = guide_blocks()
    assert prior == (EXAMPLES / "learned_gaussian_prior.py").read_text()
    assert likelihood == (EXAMPLES / "laplace_likelihood.py").read_text()


@pytest.mark.tensorflow_only
def test_the_guides_usage_runs(tmp_path, monkeypatch):
    import sys

    import example_parts

    *_, usage = guide_blocks()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "learned_gaussian_prior", example_parts)
    monkeypatch.setitem(sys.modules, "laplace_likelihood", example_parts)
    rows = table()
    namespace = {"x_train": rows[:400], "x_test": rows[400:]}
    exec(compile(usage, "writing_your_own_parts.md", "exec"), namespace)
    assert namespace["log_px"].shape == (42,)
    assert (tmp_path / "laplace.keras").is_file()
    assert (tmp_path / "serving" / "laplace" / "1").is_dir()
