"""`load_arrays` on the MNIST sample shipped with the package and on `.npy`
and `.npz` files of every layout, usable or not."""

import os
import re

import numpy as np
import pytest

import keras_vae
from keras_vae.datasets import load_arrays

SAMPLE = os.path.join(
    os.path.dirname(keras_vae.datasets.mnist.__file__),
    "data",
    "mnist_sample.npz",
)


def test_keras_layout_of_grey_uint8_images_gets_a_channel_axis():
    # The sample is stored as keras.datasets.mnist stores MNIST: uint8
    # (n, 28, 28). Images are returned as image models take them.
    (x_train, y_train), (x_test, y_test) = load_arrays(SAMPLE)
    with np.load(SAMPLE) as stored:
        assert stored["x_train"].shape == (8000, 28, 28)
        for name, array in zip(
            ("x_train", "y_train", "x_test", "y_test"),
            (x_train, y_train, x_test, y_test),
        ):
            assert array.dtype == stored[name].dtype
            np.testing.assert_array_equal(
                array.reshape(stored[name].shape), stored[name]
            )
    assert x_train.shape == (8000, 28, 28, 1) and x_train.dtype == np.uint8
    assert x_test.shape == (2000, 28, 28, 1) and x_train.max() == 255
    assert y_train.shape == (8000,) and y_test.shape == (2000,)


@pytest.mark.parametrize(
    "stored, returned",
    [
        ((5, 6, 7), (5, 6, 7, 1)),  # uint8 (n, H, W): grey images.
        ((5, 6, 7, 1), (5, 6, 7, 1)),  # Images already: as they are.
        ((5, 6, 7, 3), (5, 6, 7, 3)),
        ((5, 6, 7, 4), (5, 6, 7, 4)),
        ((5, 6), (5, 6)),  # uint8 table rows stay rows.
    ],
)
@pytest.mark.parametrize("name", ["x.npy", "x.npz", "one.npz"])
def test_shapes_of_uint8_examples(tmp_path, name, stored, returned):
    x = np.arange(np.prod(stored)).reshape(stored).astype("uint8")
    path = tmp_path / name
    if name == "x.npy":
        np.save(path, x)
    elif name == "x.npz":
        np.savez(path, x_train=x, x_test=x[:2])
    else:
        np.savez(path, pixels=x)
    (x_train, _), (x_test, _) = load_arrays(path)
    assert x_train.shape == returned and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train.reshape(stored), x)
    if name == "x.npz":
        assert x_test.shape == (2,) + returned[1:]


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_other_dtypes_of_3_dimensions_are_kept_as_stored(tmp_path, dtype):
    # Only uint8 is read as pixels: floats (n, a, b) may be sequences or
    # spectrograms as well as images.
    x = np.ones((4, 6, 7), dtype)
    np.savez(tmp_path / "x.npz", x_train=x, x_test=x)
    (x_train, _), (x_test, _) = load_arrays(tmp_path / "x.npz")
    assert x_train.shape == x_test.shape == (4, 6, 7)
    assert x_train.dtype == dtype


def test_npy_and_single_array_npz(tmp_path):
    (x, _), _ = load_arrays(SAMPLE)  # (n, 28, 28, 1): returned as stored.
    np.save(tmp_path / "digits.npy", x[:100])
    np.savez(tmp_path / "digits.npz", whatever_name=x[:100])
    for name in ("digits.npy", "digits.npz"):
        (x_train, y_train), (x_test, y_test) = load_arrays(tmp_path / name)
        np.testing.assert_array_equal(x_train, x[:100])
        assert y_train is None and x_test is None and y_test is None


def test_partial_layout_and_ignored_arrays(tmp_path):
    x = np.arange(24, dtype="float32").reshape(6, 4)
    np.savez(tmp_path / "a.npz", x_train=x)
    (x_train, y_train), (x_test, y_test) = load_arrays(tmp_path / "a.npz")
    np.testing.assert_array_equal(x_train, x)
    assert (y_train, x_test, y_test) == (None, None, None)
    np.savez(
        tmp_path / "b.npz",
        x_train=x,
        y_train=np.arange(6),
        x_val=x,
        class_names=np.array(["a", "b"]),
    )
    ignored = r"ignored the arrays \['class_names', 'x_val'\]"
    with pytest.warns(UserWarning, match=ignored):
        (x_train, y_train), _ = load_arrays(tmp_path / "b.npz")
    np.testing.assert_array_equal(y_train, np.arange(6))


def describe_error(path, match, error=ValueError):
    with pytest.raises(error, match=match):
        load_arrays(path)


def test_several_arrays_without_the_layout(tmp_path):
    path = tmp_path / "two.npz"
    np.savez(path, images=np.zeros((5, 8, 8), "uint8"), labels=np.arange(5))
    describe_error(
        path,
        re.escape(
            "holds 2 arrays and none is named x_train, so which are the "
            "examples is ambiguous: images (shape (5, 8, 8), uint8), labels "
            "(shape (5,), int64)"
        ),
    )


@pytest.mark.parametrize(
    "arrays, match",
    [
        ({"a": np.arange(5), "b": np.array(["x", "y"])}, "no usable array"),
        ({"a": np.arange(5)}, r"at least 2 dimensions.*Received: a \(shape"),
        ({"a": np.array(["x", "y"]).reshape(1, 2)}, "must be a numeric"),
        ({"a": np.zeros((0, 3))}, "holds no examples"),
        ({"a": np.zeros((2, 2), complex)}, "must be a numeric"),
        ({}, "holds no arrays"),
        (
            {"x_train": np.zeros((3, 2)), "y_train": np.zeros(4)},
            r"one per example of x_train.*y_train \(shape \(4,\)",
        ),
        (
            {"x_train": np.zeros((3, 2)), "x_test": np.zeros((3, 5))},
            r"x_test holds examples of shape \(5,\) but x_train of shape",
        ),
        (
            {"x_train": np.zeros((3, 2)), "y_test": np.zeros(3)},
            "y_test .* x_test missing",
        ),
    ],
)
def test_unusable_npz(tmp_path, arrays, match):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    describe_error(path, match)


def test_unreadable_files(tmp_path):
    describe_error(tmp_path / "missing.npz", "No array file", FileNotFoundError)
    objects = tmp_path / "objects.npy"
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    describe_error(objects, r"objects.npy.*allow_pickle=False")
    (tmp_path / "text.npz").write_text("1,2,3\n")
    describe_error(tmp_path / "text.npz", "Could not read .*text.npz")
    np.save(tmp_path / "cut.npy", np.zeros((100, 100)))
    data = (tmp_path / "cut.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) // 2])
    describe_error(tmp_path / "cut.npy", "Could not read .*cut.npy")
    np.savez(tmp_path / "cut.npz", x_train=np.zeros((100, 100)))
    data = (tmp_path / "cut.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    describe_error(tmp_path / "cut.npz", "Could not read .*cut.npz")
