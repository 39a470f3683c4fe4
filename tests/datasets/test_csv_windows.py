"""`csv_windows_dataset` against `windows(load_csv(...))`: the same windows
from the file, in order or shuffled, segment boundaries, a set of files,
a forward fill across a boundary, and the errors, which name the file, the
line and the column."""

import re
import tarfile

import numpy as np
import pytest
import tensorflow as tf
from shared_data import shared_file

from keras_vae.datasets import csv_windows_dataset
from keras_vae.datasets import load_csv
from keras_vae.datasets import windows

NAB_FILE = "nab/data/realKnownCause/machine_temperature_system_failure.csv"


def as_array(dataset):
    return np.concatenate([batch.numpy() for batch in dataset])


def sort_windows(x):
    flat = x.reshape(len(x), -1)
    return flat[np.lexsort(flat.T[::-1])]


def sensor_log(path, values, blank_after=()):
    """A `;`-separated log with a time column and a label column."""
    lines = ["datetime;a;b;anomaly"]
    for i, (a, b) in enumerate(values):
        lines.append(f"2020-02-08 13:{i // 60 % 60:02d}:{i % 60:02d};{a};{b};0")
        if i in blank_after:
            lines.append("")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def log(tmp_path):
    values = np.round(np.random.default_rng(0).normal(size=(300, 2)), 4)
    return sensor_log(tmp_path / "log.csv", values, blank_after=(10, 99))


@pytest.mark.parametrize(
    "window, stride, segment_rows",
    [(16, 1, 50), (16, 3, 50), (16, 5, 7), (1, 1, 300), (300, 1, 64)]
    + [(20, 20, 1000), (33, 4, 32)],
)
def test_in_order_it_yields_the_windows_of_the_loaded_file(
    log, window, stride, segment_rows
):
    expected = windows(load_csv(log, exclude=["anomaly"])[0], window, stride)
    dataset = csv_windows_dataset(
        log,
        window,
        stride,
        batch_size=32,
        shuffle=False,
        exclude=["anomaly"],
        segment_rows=segment_rows,
        cycle_length=1,
    )
    x = as_array(dataset)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, expected)
    assert len(dataset) == -(-len(expected) // 32)


def test_shuffled_every_window_once_per_epoch_a_new_order_each(log):
    expected = windows(load_csv(log, exclude=["anomaly"])[0], 16, 2)
    dataset = csv_windows_dataset(
        log, 16, 2, batch_size=10, exclude=["anomaly"], seed=3, segment_rows=40
    )
    first, second = as_array(dataset), as_array(dataset)
    for epoch in (first, second):
        np.testing.assert_array_equal(
            sort_windows(epoch), sort_windows(expected)
        )
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, expected)
    # The same seed, the same orders.
    again = csv_windows_dataset(
        log, 16, 2, batch_size=10, exclude=["anomaly"], seed=3, segment_rows=40
    )
    np.testing.assert_array_equal(as_array(again), first)
    # A batch mixes windows of `cycle_length` (8) segments, 10 / 8 -> 2
    # windows of each in turn: windows 0, 2, 4 and 6 start in different
    # segments of 40 rows.
    segments = [
        int(np.flatnonzero((expected == w).all(axis=(1, 2)))[0]) * 2 // 40
        for w in first[:8]
    ]
    assert len(set(segments[::2])) == 4
    assert segments[::2] == segments[1::2]


def test_a_set_of_files_is_windowed_file_by_file(tmp_path):
    first = sensor_log(tmp_path / "0.csv", np.arange(40.0).reshape(20, 2))
    second = sensor_log(
        tmp_path / "1.csv", 1000 + np.arange(26.0).reshape(13, 2)
    )
    x = as_array(
        csv_windows_dataset(
            [first, second],
            5,
            2,
            shuffle=False,
            exclude=["anomaly"],
            segment_rows=4,
            cycle_length=1,
        )
    )
    expected = windows(
        [load_csv(p, exclude=["anomaly"])[0] for p in (first, second)], 5, 2
    )
    np.testing.assert_array_equal(x, expected)
    # No window holds rows of both files.
    assert ((x < 1000).all(axis=(1, 2)) | (x >= 1000).all(axis=(1, 2))).all()


def test_forward_fill_reaches_back_across_a_segment_boundary(tmp_path):
    values = np.arange(60.0).reshape(30, 2).astype(object)
    values[10:13, 1] = ""  # Rows 10 to 12: rows 8 to 15 are a segment.
    path = sensor_log(tmp_path / "gaps.csv", values)
    options = dict(exclude=["anomaly"], fill="forward")
    expected = windows(load_csv(path, **options)[0], 4)
    assert expected[9, 3, 1] == 19  # Row 12 took row 9's value.
    for segment_rows in (8, 11, 12):
        x = as_array(
            csv_windows_dataset(
                path,
                4,
                shuffle=False,
                segment_rows=segment_rows,
                cycle_length=1,
                **options,
            )
        )
        np.testing.assert_array_equal(x, expected)
    # Without the fill, the error names the line and the column.
    dataset = csv_windows_dataset(
        path, 4, shuffle=False, exclude=["anomaly"], segment_rows=8
    )
    with pytest.raises(
        tf.errors.OpError, match=r"Column 'b' \(index 2\).* at line 12"
    ):
        as_array(dataset)


def test_text_in_the_file_names_the_line_and_column(log):
    lines = log.read_text().splitlines()
    fields = lines[250].split(";")
    fields[2] = "x"  # Column `b`, line 251.
    lines[250] = ";".join(fields)
    log.write_text("\n".join(lines) + "\n")
    dataset = csv_windows_dataset(log, 8, exclude=["anomaly"], seed=0)
    with pytest.raises(
        tf.errors.OpError,
        match=r"Column 'b' \(index 2\) of .*log.csv' holds text at line 251",
    ):
        as_array(dataset)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"window": 301}, "has 300 data rows, fewer than one window of 301"),
        ({"window": 0}, "window"),
        ({"stride": 0}, "stride"),
        ({"segment_rows": 0}, "segment_rows"),
        ({"cycle_length": 0}, "cycle_length"),
        ({"fill": "backward"}, 'expected None or "forward"'),
        ({"columns": ["a"]}, "Pass either `columns`"),
    ],
)
def test_bad_arguments(log, options, match):
    options = {"window": 8, "exclude": ["anomaly"], **options}
    try:
        dataset = csv_windows_dataset(log, **options)
        as_array(dataset)
    except (ValueError, tf.errors.OpError) as error:
        assert re.search(match, str(error)), str(error)
    else:
        pytest.fail("no error")


def test_files_with_other_columns_are_refused(tmp_path, log):
    other = tmp_path / "other.csv"
    other.write_text("datetime;a;c;anomaly\n2020-02-08 13:30:47;1;2;0\n")
    with pytest.raises(
        ValueError,
        match=r"other.csv' has the columns \['a', 'c'\] where .*log.csv' "
        r"has \['a', 'b'\]",
    ):
        csv_windows_dataset([log, other], 1, exclude=["anomaly"])
    with pytest.raises(FileNotFoundError, match="No CSV file"):
        csv_windows_dataset(tmp_path / "missing.csv", 1)


def test_a_nab_series_streams_as_it_loads(tmp_path):
    with tarfile.open(shared_file("nab.tar.gz")) as archive:
        text = archive.extractfile(NAB_FILE).read()
    path = tmp_path / "machine_temperature.csv"
    path.write_bytes(text)
    expected = windows(load_csv(path)[0], 64, 4)
    x = as_array(
        csv_windows_dataset(
            path, 64, 4, batch_size=256, seed=0, segment_rows=4096
        )
    )
    np.testing.assert_array_equal(sort_windows(x), sort_windows(expected))


# Keras's own warning for any model fed a dataset.
@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")
def test_a_sequence_vae_trains_on_the_stream(tmp_path):
    import keras

    import keras_vae

    with tarfile.open(shared_file("nab.tar.gz")) as archive:
        text = archive.extractfile(NAB_FILE).read()
    path = tmp_path / "machine_temperature.csv"
    path.write_bytes(text)
    x = load_csv(path)[0]
    normalization = keras.layers.Normalization(axis=-1)
    normalization.adapt(x[:2000])
    vae = keras_vae.build_sequence_vae(
        (32, 1), latent_dim=4, filters=8, preprocessing=normalization, seed=0
    )
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    train = csv_windows_dataset(path, 32, 8, segment_rows=2048, seed=0)
    history = vae.fit(train, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert len(train) == -(-((len(x) - 32) // 8 + 1) // 128)
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0] - 1
    # Its loss on the same windows, held in memory, is that of the stream.
    held = vae.evaluate(windows(x, 32, 8), batch_size=128, verbose=0)
    streamed = vae.evaluate(train, verbose=0)
    np.testing.assert_allclose(streamed, held, rtol=0.05)
