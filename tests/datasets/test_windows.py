"""`windows` against slices written out by hand, and `windows_dataset`
against `windows`: the same windows, in order or shuffled."""

import math
import re

import numpy as np
import pytest
import tensorflow as tf

from keras_vae.datasets import windows
from keras_vae.datasets import windows_dataset


def sliced(series, window, stride):
    """The windows of one series, written as the definition says."""
    series = np.asarray(series, dtype="float32").reshape(len(series), -1)
    starts = range(0, len(series) - window + 1, stride)
    return np.stack([series[s : s + window] for s in starts])


def as_array(dataset):
    return np.concatenate([batch.numpy() for batch in dataset])


def sort_windows(x):
    """The windows of `x` in lexicographic order of their values."""
    flat = x.reshape(len(x), -1)
    return flat[np.lexsort(flat.T[::-1])]


def test_exact_windows():
    x = windows(np.arange(10), window=4, stride=3)
    assert x.dtype == np.float32 and x.shape == (3, 4, 1)
    np.testing.assert_array_equal(
        x[..., 0], [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    )
    assert x.flags.c_contiguous


@pytest.mark.parametrize(
    "steps, window, stride",
    [(10, 4, 3), (10, 4, 1), (10, 10, 1), (10, 10, 7), (11, 4, 3), (7, 1, 2)]
    + [(100, 16, 16), (100, 16, 5), (5, 3, 100)],
)
def test_count_and_values_follow_the_definition(steps, window, stride):
    rng = np.random.default_rng(steps * window * stride)
    series = rng.normal(size=(steps, 3))
    x = windows(series, window, stride)
    assert len(x) == (steps - window) // stride + 1
    np.testing.assert_array_equal(x, sliced(series, window, stride))


def test_set_of_series_is_cut_series_by_series():
    first, second = np.arange(5.0), 100 + np.arange(7.0)
    x = windows([first, second], window=3, stride=2)
    expected = np.concatenate([sliced(first, 3, 2), sliced(second, 3, 2)])
    np.testing.assert_array_equal(x, expected)
    assert len(x) == 2 + 3
    # No window holds steps of both series.
    assert all((w < 100).all() or (w >= 100).all() for w in x)
    # (steps,) and (steps, 1) are both one channel; a tuple is a set too.
    y = windows((first, second[:, None]), window=3, stride=2)
    np.testing.assert_array_equal(y, x)


def test_nested_list_is_one_array_and_int_dtypes_are_cast():
    x = windows([[1, 2], [3, 4], [5, 6]], window=2)
    np.testing.assert_array_equal(x, [[[1, 2], [3, 4]], [[3, 4], [5, 6]]])
    x = windows(np.arange(4, dtype="uint8"), window=4)
    assert x.dtype == np.float32 and x.shape == (1, 4, 1)


@pytest.mark.parametrize(
    "series, window, stride, match",
    [
        (np.zeros(10), 0, 1, "`window`: expected an integer >= 1. "),
        (np.zeros(10), 2.0, 1, "Received: window=2.0"),
        (np.zeros(10), True, 1, "Received: window=True"),
        (np.zeros(10), 2, 0, "Received: stride=0"),
        (
            np.zeros(50),
            64,
            1,
            "`series` has 50 steps, shorter than window=64. Received: "
            "window=64",
        ),
        (
            [np.zeros(80), np.zeros(50)],
            64,
            1,
            "`series\\[1\\]` has 50 steps, shorter than window=64",
        ),
        (np.zeros((2, 3, 4)), 2, 1, "Received: series.shape=\\(2, 3, 4\\)"),
        (np.float32(3), 1, 1, "Received: series.shape=\\(\\)"),
        (np.zeros((5, 0)), 1, 1, "not empty. Received: series.shape=\\(5, 0"),
        (np.array(list("abcd")), 2, 1, "Received: series.dtype=<U1"),
        (np.ones(4, bool), 2, 1, "Received: series.dtype=bool"),
        (
            [np.zeros((9, 2)), np.zeros((9, 3))],
            2,
            1,
            "`series\\[1\\]` has 3 channels where `series\\[0\\]` has 2",
        ),
        ([], 2, 1, "`series` holds no series. Received: series=\\[\\]"),
        ([[1, 2], [3]], 1, 1, "`series` must be a rectangular array"),
    ],
)
def test_bad_series_and_arguments(series, window, stride, match):
    with pytest.raises(ValueError, match=match):
        windows(series, window, stride)
    with pytest.raises(ValueError, match=match):
        windows_dataset(series, window, stride)


@pytest.mark.parametrize(
    "value, shown",
    [(np.nan, "nan"), (-np.inf, "-inf"), (1e39, "1e\\+39")],
)
def test_non_finite_values_are_named_by_step_and_channel(value, shown):
    series = np.zeros((6, 3))
    series[4, 2] = value
    match = (
        f"`series\\[1\\]` holds {shown} at step 4, channel 2: .*"
        f"Received: series\\[1\\]\\[4, 2\\]={shown}"
    )
    with pytest.raises(ValueError, match=match):
        windows([np.zeros((6, 3)), series], window=2)
    with pytest.raises(ValueError, match="at step 4, channel 0"):
        windows(series[:, 2], window=2)


def test_dataset_in_order_yields_the_same_windows():
    rng = np.random.default_rng(0)
    series = [rng.normal(size=(n, 2)) for n in (37, 5, 64)]
    expected = windows(series, window=5, stride=2)
    dataset = windows_dataset(
        series, window=5, stride=2, batch_size=8, shuffle=False
    )
    assert dataset.element_spec == tf.TensorSpec((None, 5, 2), tf.float32)
    assert len(dataset) == math.ceil(len(expected) / 8)
    batches = [batch.numpy() for batch in dataset]
    assert [len(b) for b in batches] == [8] * (len(batches) - 1) + [
        len(expected) - 8 * (len(batches) - 1)
    ]
    np.testing.assert_array_equal(np.concatenate(batches), expected)


def test_shuffled_dataset_yields_every_window_once_per_epoch():
    series = [np.arange(40.0), 1000 + np.arange(23.0)]
    expected = windows(series, window=4, stride=3)
    dataset = windows_dataset(series, window=4, stride=3, batch_size=5, seed=7)
    first, second = as_array(dataset), as_array(dataset)
    for epoch in (first, second):
        np.testing.assert_array_equal(
            sort_windows(epoch), sort_windows(expected)
        )
    # Shuffled across series, anew each epoch.
    assert not np.array_equal(first, expected)
    assert not np.array_equal(first, second)
    second_series = first[:, 0, 0] >= 1000
    assert second_series.sum() == 7 and not second_series[13:].all()
    # The same seed, the same order, epoch by epoch.
    again = windows_dataset(series, window=4, stride=3, batch_size=5, seed=7)
    np.testing.assert_array_equal(as_array(again), first)
    np.testing.assert_array_equal(as_array(again), second)
    other = windows_dataset(series, window=4, stride=3, batch_size=5, seed=8)
    assert not np.array_equal(as_array(other), first)


def test_dataset_of_a_long_series_never_makes_all_windows():
    """10 million steps: the windows would take 2.56 GB as an array."""
    steps = 10_000_000
    series = np.arange(steps, dtype="float32")  # Exact below 2**24.
    dataset = windows_dataset(series, window=64, shuffle=False)
    assert len(dataset) == math.ceil((steps - 64 + 1) / 128)
    batch = next(iter(dataset)).numpy()
    np.testing.assert_array_equal(batch, sliced(series[:191], 64, 1))
    shuffled = windows_dataset(series, window=64, seed=0)
    batch = next(iter(shuffled)).numpy()[..., 0]
    np.testing.assert_array_equal(batch - batch[:, :1], [np.arange(64)] * 128)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"batch_size": 0}, "Received: batch_size=0"),
        ({"seed": -1}, "Received: seed=-1"),
        ({"seed": 1.5}, "Received: seed=1.5"),
    ],
)
def test_bad_dataset_arguments(options, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        windows_dataset(np.zeros(10), window=2, **options)
