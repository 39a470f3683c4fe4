"""Fixed-length windows of time series, as an array (`windows`) or
streamed (`windows_dataset`)."""

import math

import numpy as np
import tensorflow as tf

from keras_vae.datasets._split import check_seed
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.arrays import as_array
from keras_vae.utils.arrays import is_numeric_dtype
from keras_vae.utils.tf_data import without_autotune


def windows(series, window, stride=1):
    """Cuts time series into windows of `window` steps, one every `stride`
    steps, as a float32 array.

    A series of `T` steps gives `(T - window) // stride + 1` windows, the
    first starting at step 0; the last steps are left out when `stride`
    does not divide `T - window`. A set of series (a list of arrays, e.g.
    the files of `load_csv_folder`) is cut series by series and the
    windows put one after the other: no window spans two series.

    Every window is a copy: the result takes `window / stride` times the
    memory of the series (64 times for `window=64`). For long series,
    `windows_dataset` streams the same windows in batches.

    Args:
        series: An array of shape `(steps,)` or `(steps, channels)` (e.g.
            the `x` of `load_csv`), or a list or tuple of such arrays (a
            set of series; all with the same channels). A nested Python
            list is one array, not a set.
        window: The number of steps of a window, an integer >= 1 no longer
            than any series.
        stride: The steps between the starts of two windows, an integer
            >= 1 (1: every window; `window`: windows that do not overlap).

    Returns:
        A float32 array of shape `(windows, window, channels)`, `channels`
        being 1 for series of shape `(steps,)`.

    Example:

    ```python
    >>> windows(np.arange(10), window=4, stride=3)[..., 0]
    array([[0., 1., 2., 3.],
           [3., 4., 5., 6.],
           [6., 7., 8., 9.]], dtype=float32)

    ```
    """
    arrays = _check_series(series, window, stride)
    counts = [(len(array) - window) // stride + 1 for array in arrays]
    x = np.empty((sum(counts), window, arrays[0].shape[1]), dtype="float32")
    start = 0
    for array, count in zip(arrays, counts):
        # (steps - window + 1, channels, window) views, not copies.
        view = np.lib.stride_tricks.sliding_window_view(array, window, axis=0)
        x[start : start + count] = view[::stride].transpose(0, 2, 1)
        start += count
    return x


def windows_dataset(
    series, window, stride=1, batch_size=128, shuffle=True, seed=None
):
    """Streams the windows of `windows(series, window, stride)` in batches,
    as a `tf.data.Dataset`, without ever holding them all.

    The dataset yields float32 batches of shape `(batch_size, window,
    channels)` (the last one possibly smaller), the same windows as
    `windows` makes: in its order with `shuffle=False`; else in a new
    random order every epoch, over all windows of all series. Memory is
    the series itself, as float32 (4 bytes a value), and the batches being
    made: a 10-million-step series of 8 channels takes 320 MB whatever the
    window, where `windows` would take `window` times that. There is no
    table of window starts and no shuffle buffer: a batch's windows are
    found from their numbers, which a stateless random permutation
    (`tf.random.experimental.index_shuffle`) shuffles.

    Args:
        series: An array of shape `(steps,)` or `(steps, channels)`, or a
            list or tuple of such arrays (a set of series, all with the same
            channels; no window spans two of them).
        window: The number of steps of a window, an integer >= 1 no longer
            than any series.
        stride: The steps between the starts of two windows, an integer
            >= 1.
        batch_size: The number of windows in a batch.
        shuffle: Whether to shuffle the windows, anew every epoch.
        seed: Optional integer seed of the shuffling: with one, every
            epoch's order is the same from run to run (the first epoch's
            differs from the second's).

    Returns:
        A `tf.data.Dataset` of float32 batches of windows, whose length is
        the number of batches in an epoch.

    Example:

    ```python
    x, names = keras_vae.datasets.load_csv("machine_temperature.csv")
    train = keras_vae.datasets.windows_dataset(x, window=64, seed=0)
    vae.fit(train, epochs=10)
    ```
    """
    arrays = _check_series(series, window, stride)
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_seed(seed)
    lengths = np.array([len(array) for array in arrays], dtype="int64")
    counts = (lengths - window) // stride + 1
    # The windows are numbered 0..total-1, series after series. Window k is
    # in the first series j whose windows end after it (ends[j] > k); that
    # series starts at step offsets[j] of the concatenated data and its
    # windows at number firsts[j], so window k starts at step offsets[j] +
    # (k - firsts[j]) * stride = shifts[j] + k * stride.
    ends = np.cumsum(counts)
    firsts = ends - counts
    offsets = np.cumsum(lengths) - lengths
    shifts = offsets - firsts * stride
    data = tf.constant(
        arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    )
    del arrays  # The only copy left is `data`.
    total = int(ends[-1])
    steps = tf.range(window, dtype="int64")

    def gather(k):
        series_of_k = tf.searchsorted(ends, k, side="right")
        starts = tf.gather(shifts, series_of_k) + k * stride
        return tf.gather(data, starts[:, None] + steps)

    numbers = tf.data.Dataset.range(total).batch(batch_size)
    if shuffle:
        # One random seed per epoch (a new one each time the dataset is
        # iterated), and the permutation of 0..total-1 it defines.
        # `keras.utils.timeseries_dataset_from_array` instead permutes the
        # windows once and then shuffles within 1024 of them each epoch.
        def permuted(epoch_seed):
            key = tf.stack([epoch_seed, tf.constant(0, "int64")])
            return numbers.map(
                lambda k: tf.random.experimental.index_shuffle(
                    k, seed=key, max_index=total - 1
                )
            )

        epoch_seeds = tf.data.Dataset.random(
            seed=seed, rerandomize_each_iteration=True
        )
        numbers = epoch_seeds.take(1).flat_map(permuted)
    dataset = numbers.map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    cardinality = tf.data.experimental.assert_cardinality(
        math.ceil(total / batch_size)
    )
    return without_autotune(
        dataset.apply(cardinality).prefetch(tf.data.AUTOTUNE)
    )


def _check_series(series, window, stride):
    """The series as a list of float32 arrays `(steps, channels)`, each
    checked against `window` and `stride`."""
    window = check_positive_int(window, "window")
    stride = check_positive_int(stride, "stride")
    several = isinstance(series, (list, tuple)) and all(
        not isinstance(item, (list, tuple)) and np.ndim(item) >= 1
        for item in series
    )
    if several and not series:
        raise ValueError(
            "`series` holds no series. Received: series=" + repr(series)
        )
    items = series if several else [series]
    arrays = []
    for k, item in enumerate(items):
        name = f"series[{k}]" if several else "series"
        array = _check_one(item, name, window)
        if arrays and array.shape[1] != arrays[0].shape[1]:
            raise ValueError(
                f"`{name}` has {array.shape[1]} channels where `series[0]` "
                f"has {arrays[0].shape[1]}: all series of a set need the "
                f"same channels. Received: {name}.shape={np.shape(item)}"
            )
        arrays.append(array)
    return arrays


def _check_one(item, name, window):
    """One series as a float32 array `(steps, channels)`."""
    raw = as_array(item, name)
    if not is_numeric_dtype(raw.dtype):
        raise ValueError(
            f"`{name}` must hold numbers (an integer or float dtype). "
            f"Received: {name}.dtype={raw.dtype}"
        )
    if raw.ndim not in (1, 2) or raw.size == 0:
        raise ValueError(
            f"`{name}` must be an array of shape (steps,) or (steps, "
            f"channels), not empty. Received: {name}.shape={raw.shape}"
        )
    if len(raw) < window:
        raise ValueError(
            f"`{name}` has {len(raw)} steps, shorter than window={window}. "
            f"Received: window={window}"
        )
    with np.errstate(over="ignore"):  # Beyond float32's range: inf.
        array = raw.reshape(len(raw), -1).astype("float32", copy=False)
    bad = ~np.isfinite(array)
    if bad.any():
        step, channel = map(int, np.unravel_index(np.argmax(bad), bad.shape))
        value = (raw[step] if raw.ndim == 1 else raw[step, channel]).item()
        raise ValueError(
            f"`{name}` holds {value!r} at step {step}, channel {channel}: "
            "every value must be finite within float32's range. Fill or drop "
            'it first (`load_csv(..., fill="forward")` fills gaps). '
            f"Received: {name}[{step}, {channel}]={value!r}"
        )
    return array
