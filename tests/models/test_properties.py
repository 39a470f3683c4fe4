"""Property-based tests of the public API with hypothesis: arrays of random
shapes, dtypes and values, and random bad arguments, either work or fail
with a `ValueError` that names the problem; a refused `fit` leaves the
weights as they were, and a refused export leaves the directory as it was.
"""

import os

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import keras_vae

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
FEATURES = 6
LATENT = 2

DTYPES = st.sampled_from(
    ["float16", "float32", "float64", "int8", "uint8", "int64", "bool"]
    + ["complex64"]
)


@pytest.fixture(scope="module")
def vae():
    model = keras_vae.build_mlp_vae(
        (FEATURES,), latent_dim=LATENT, hidden_units=(8,), seed=0
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


@pytest.fixture(scope="module")
def conditional_vae():
    model = keras_vae.build_mlp_vae(
        (FEATURES,), num_classes=3, latent_dim=LATENT, hidden_units=(8,)
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    return model


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


def _assert_weights_unchanged(model, before):
    for w, b in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(w.numpy(), b, err_msg=w.path)


@st.composite
def arrays(draw):
    """Arrays of any rank 0-3, small sizes, any dtype, values anywhere in
    [-2, 2] with NaN and inf sprinkled in."""
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0))
    dtype = draw(DTYPES)
    if dtype == "bool":
        elements = st.booleans()
    elif dtype.startswith(("int", "uint")):
        elements = st.integers(0, 3)
    elif dtype == "complex64":
        elements = st.complex_numbers(max_magnitude=1, width=64)
    else:
        width = int(dtype[-2:])
        elements = st.floats(-2, 2, width=width) | st.sampled_from(
            [np.nan, np.inf, -np.inf, 0.0, 1.0]
        )
    return draw(hnp.arrays(dtype, shape, elements=elements))


def _is_valid(x):
    return (
        x.ndim == 2
        and x.shape[0] > 0
        and x.shape[1] == FEATURES
        and x.dtype.kind == "f"
        and bool(np.all((x >= 0) & (x <= 1)))  # False for NaN.
    )


def _problem_named(message, x):
    """Whether a refusal message names the array's actual problem."""
    if x.ndim != 2 or (x.ndim and x.shape[0] == 0) or x.shape[1:] != (6,):
        return "shape" in message or "scalar" in message or "empty" in message
    if x.dtype.kind != "f":
        return "dtype" in message
    if not np.all(np.isfinite(x)):
        return "NaN or infinite" in message
    return "[0, 1]" in message


@SETTINGS
@given(x=arrays())
def test_fit_trains_on_valid_data_and_refuses_the_rest(vae, x):
    before = _weights(vae)
    if _is_valid(x):
        history = vae.fit(x, epochs=1, batch_size=4, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        return
    with pytest.raises(ValueError) as error:
        vae.fit(x, epochs=1, batch_size=4, verbose=0)
    message = str(error.value)
    assert "Received" in message and "`x`" in message
    assert _problem_named(message, x), message
    _assert_weights_unchanged(vae, before)


@SETTINGS
@given(x=arrays())
def test_encode_and_validation_data_check_like_fit(vae, x):
    good = np.full((4, FEATURES), 0.5, "float32")
    if _is_valid(x):
        z_mean, z_log_var = vae.encode(x)
        assert z_mean.shape == z_log_var.shape == (len(x), LATENT)
        return
    before = _weights(vae)
    with pytest.raises(ValueError, match="Received") as error:
        vae.encode(x)
    assert _problem_named(str(error.value), x)
    with pytest.raises(ValueError, match="validation_data"):
        vae.fit(good, validation_data=x, epochs=1, verbose=0)
    _assert_weights_unchanged(vae, before)


@SETTINGS
@given(z=arrays())
def test_decode_takes_finite_latents_of_the_latent_shape(vae, z):
    valid = (
        z.ndim == 2
        and z.shape[0] > 0
        and z.shape[1] == LATENT
        and z.dtype.kind in "fiub"
        and bool(np.all(np.isfinite(z)))
    )
    if valid:
        x_mean = vae.decode(z)
        assert x_mean.shape == (len(z), FEATURES)
        assert np.all((x_mean >= 0) & (x_mean <= 1))
        return
    with pytest.raises(ValueError, match=r"`z`.*Received"):
        vae.decode(z)


@SETTINGS
@given(
    labels=hnp.arrays(
        st.sampled_from(["int32", "int64", "float32"]),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
        elements=st.integers(-1, 4),
    )
)
def test_conditional_vae_refuses_labels_that_do_not_fit(
    conditional_vae, labels
):
    x = np.full((4, FEATURES), 0.5, "float32")
    one_hot_ok = (
        labels.shape == (4, 3)
        and np.all((labels == 0) | (labels == 1))
        and np.all(labels.sum(axis=1) == 1)
    )
    index_ok = (
        labels.shape == (4,)
        and labels.dtype.kind == "i"
        and np.all((labels >= 0) & (labels < 3))
    )
    before = _weights(conditional_vae)
    if one_hot_ok or index_ok:
        history = conditional_vae.fit(x, labels, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        return
    with pytest.raises(ValueError, match=r"labels|`y`") as error:
        conditional_vae.fit(x, labels, epochs=1, verbose=0)
    assert "Received" in str(error.value)
    _assert_weights_unchanged(conditional_vae, before)


def _is_finite_non_negative(value):
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and 0 <= value < np.inf
    )


BAD_NUMBERS = st.one_of(
    st.integers(-5, 0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.booleans(),
    st.none(),
)


@SETTINGS
@given(
    argument=st.sampled_from(
        ["latent_dim", "hidden_units", "input_shape", "beta", "free_bits"]
        + ["num_importance_samples", "seed"]
    ),
    value=BAD_NUMBERS,
)
def test_builder_refuses_bad_arguments(argument, value):
    valid_values = {
        "hidden_units": lambda v: False,
        "beta": _is_finite_non_negative,
        "free_bits": _is_finite_non_negative,
        "seed": lambda v: v is None or type(v) is int,
    }
    if valid_values.get(argument, lambda v: False)(value):
        return
    if argument == "hidden_units" and value is None:
        return  # No hidden layer: a valid model.
    kwargs = {"latent_dim": 2, "hidden_units": (4,)}
    input_shape = value if argument == "input_shape" else (FEATURES,)
    if argument != "input_shape":
        kwargs[argument] = value
    with pytest.raises(ValueError, match=f"`{argument}`.*Received"):
        keras_vae.build_mlp_vae(input_shape, **kwargs)


@SETTINGS
@given(
    argument=st.sampled_from(
        ["batch_size", "epochs", "validation_split", "steps_per_epoch"]
    ),
    value=st.one_of(
        st.integers(-3, 0),
        st.floats(1.0001, 1e9),
        st.sampled_from([float("nan"), -0.5, "1", None]),
    ),
)
def test_fit_refuses_bad_arguments_before_training(vae, argument, value):
    if (
        value is None
        and argument != "epochs"
        or (value == 0 and argument in ("epochs", "validation_split"))
    ):
        return  # Valid: Keras's default, no epochs, no validation split.
    x = np.full((8, FEATURES), 0.5, "float32")
    before = _weights(vae)
    with pytest.raises(ValueError, match=f"`{argument}`.*Received"):
        vae.fit(x, verbose=0, **{argument: value})
    _assert_weights_unchanged(vae, before)


@SETTINGS
@given(
    steps_per_execution=st.one_of(st.integers(-3, 0), st.floats(), st.text()),
)
def test_compile_refuses_bad_steps_per_execution(steps_per_execution):
    model = keras_vae.build_mlp_vae((FEATURES,), latent_dim=2)
    with pytest.raises(ValueError, match="`steps_per_execution`.*Received"):
        model.compile(optimizer="sgd", steps_per_execution=steps_per_execution)


def test_compile_refuses_a_loss(vae):
    with pytest.raises(ValueError, match="own loss.*Received: loss='mse'"):
        vae.compile(optimizer="sgd", loss="mse")


def _listing(directory):
    return sorted(
        os.path.relpath(os.path.join(root, name), directory)
        for root, dirs, files in os.walk(directory)
        for name in dirs + files
    )


@SETTINGS
@given(
    version=st.one_of(
        st.integers(-3, 0), st.floats(), st.text(max_size=2), st.booleans()
    ),
    quantization=st.one_of(st.text(max_size=4), st.integers(), st.none()),
    exporter=st.sampled_from(["saved_model", "tflite"]),
)
def test_refused_exports_leave_the_directory_as_it_was(
    vae, tmp_path, version, quantization, exporter
):
    (tmp_path / "existing.txt").write_text("keep")
    before = _listing(tmp_path)
    with pytest.raises(ValueError, match="Received"):
        if exporter == "saved_model":
            keras_vae.export_saved_model(vae, tmp_path / "model", version)
        else:
            if quantization in keras_vae.export.tflite.QUANTIZATIONS:
                quantization = "int4"
            keras_vae.export_tflite_decoder(
                vae, tmp_path / "sub" / "d.tflite", quantization
            )
    assert _listing(tmp_path) == before
