"""`.keras` files saved by an earlier keras-vae load and give the outputs
they gave when saved (tests/data/legacy_models, written on the main of
2026-12-06 by save_legacy_models.py there)."""

import os

import keras
import numpy as np
import pytest

import keras_vae

HERE = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "data", "legacy_models"
)
NAMES = sorted(
    name[: -len(".keras")]
    for name in os.listdir(HERE)
    if name.endswith(".keras")
)


def close(actual, expected, rtol=2e-5, atol=2e-5):
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(actual), expected, rtol=rtol, atol=atol
    )


def test_every_kind_of_model_is_kept():
    assert NAMES == [
        "conditional_mlp",
        "conv_8bit_gaussian",
        "hierarchical_conv",
        "hierarchical_mlp",
        "mlp_bernoulli",
        "mlp_iwae",
        "mlp_table_gaussian",
        "resnet_logistic_mixture",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_file_loads_with_the_outputs_it_had(name):
    vae = keras_vae.load_vae(os.path.join(HERE, f"{name}.keras"))
    expected = dict(np.load(os.path.join(HERE, f"{name}.npz")))
    x = expected["x"]
    labels = expected["labels"]
    extra = (labels,) if labels.size else ()
    assert vae.optimizer is not None and int(vae.optimizer.iterations) == 4
    z_mean, z_log_var = vae.encode(x, *extra)
    close(z_mean, expected["z_mean"])
    close(z_log_var, expected["z_log_var"])
    close(vae.reconstruct(x, *extra), expected["reconstruction"], rtol=1e-4)
    close(vae.decode(expected["z"], *extra), expected["decoded"], rtol=1e-4)
    inputs = x if not labels.size else (x, keras.ops.one_hot(labels, 3))
    log_w = vae.log_importance_weights(inputs, expected["epsilon"])
    close(log_w, expected["log_weights"], rtol=1e-4, atol=1e-3)
    if keras.backend.backend() == "tensorflow":
        # Seeded draws are the backend's own random numbers.
        samples = (
            vae.sample(5, seed=3)
            if not labels.size
            else vae.sample(5, labels=labels, seed=3)
        )
        close(samples, expected["samples"], rtol=1e-4)
