"""The windows of time series too long for memory, streamed from their CSV
files: `csv_windows_dataset`."""

import collections
import csv
import io
import math
import os

import numpy as np
import tensorflow as tf

from keras_vae.datasets._split import check_seed
from keras_vae.datasets.tables import _MISSING
from keras_vae.datasets.tables import _check_arguments
from keras_vae.datasets.tables import _opened
from keras_vae.datasets.tables import _parse
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.tf_data import without_autotune

# A run of data rows of one file, read as one block: the file, the byte at
# which its first row starts, the number of lines before that byte, the
# row's index among the file's data rows, the rows to read (those of its
# windows), where its first window starts in the block, its windows, and
# the (offset, line, row) of the starts of all the file's segments (one
# list, shared) and its own index there: a forward fill reads from an
# earlier start.
_Segment = collections.namedtuple(
    "_Segment",
    ["file", "offset", "line", "row", "rows", "first", "windows"]
    + ["starts", "index"],
)


def csv_windows_dataset(
    paths,
    window,
    stride=1,
    batch_size=128,
    shuffle=True,
    seed=None,
    columns=None,
    header="infer",
    delimiter=None,
    exclude=None,
    time_column="infer",
    fill=None,
    segment_rows=65536,
    cycle_length=8,
):
    """Streams the windows of time series from CSV files, never holding a
    whole series: training on a series of any length takes the same
    memory.

    Each file is one series, read as `keras_vae.datasets.load_csv` reads it
    (the same `columns`, `header`, `delimiter`, `exclude`, `time_column`
    and `fill`; the time column is left out). The windows are those of
    `windows(load_csv(path)[0], window, stride)`, file after file, none
    spanning two files. A first pass over each file (its bytes only, no
    numbers) cuts it into segments of `segment_rows` rows; each epoch then
    reads `cycle_length` segments at a time, parses them, and takes
    `ceil(batch_size / cycle_length)` windows from each in turn, so a batch
    holds windows of `cycle_length` places of the series. With `shuffle`,
    the segments come in a new random order every epoch and the windows of
    a segment too. Memory is `cycle_length` segments (`segment_rows *
    channels * 4` bytes each: 2 MB for 65,536 rows of 8 channels) and the
    batches being made, whatever the length of the files.

    Every row must be on a line of its own (no quoted field spans lines),
    and every loaded cell a finite number, or a missing value with
    `fill="forward"` (which then also reads back from the nearest earlier
    segment that starts with a full row): a bad cell is an error that names
    the file, the line and the column, raised when its segment is read
    (during `fit`).

    Args:
        paths: The path of a CSV file, or a list of paths (a set of series
            with the same columns).
        window: The number of steps of a window, an integer >= 1 no longer
            than any series.
        stride: The steps between the starts of two windows, an integer
            >= 1.
        batch_size: The number of windows in a batch.
        shuffle: Whether to shuffle the segments and their windows, anew
            every epoch.
        seed: Optional integer seed of the shuffling.
        columns, header, delimiter, exclude, time_column, fill: As for
            `load_csv`.
        segment_rows: The rows of a segment, an integer >= 1.
        cycle_length: The segments read at a time, an integer >= 1 (1 and
            `shuffle=False`: the windows in the order of `windows`).

    Returns:
        A `tf.data.Dataset` of float32 batches `(batch_size, window,
        channels)` (the last one possibly smaller), whose length is the
        number of batches in an epoch.

    Example:

    ```python
    train = keras_vae.datasets.csv_windows_dataset(
        "pump_sensors.csv", window=64, exclude=["anomaly"], seed=0
    )
    vae.fit(train, epochs=2)
    ```
    """
    several = isinstance(paths, (list, tuple))
    paths = [os.fspath(p) for p in (paths if several else [paths])]
    if not paths:
        raise ValueError("`paths` names no file. Received: paths=[]")
    window = check_positive_int(window, "window")
    stride = check_positive_int(stride, "stride")
    batch_size = check_positive_int(batch_size, "batch_size")
    segment_rows = check_positive_int(segment_rows, "segment_rows")
    cycle_length = check_positive_int(cycle_length, "cycle_length")
    seed = check_seed(seed)
    _check_arguments(header, delimiter, fill, time_column, columns, exclude)
    sources, names = [], None
    for path in paths:
        layout = _opened(
            path, columns, header, delimiter, exclude, time_column, False
        )
        with layout as (source, indices, file_names, _):
            pass  # The columns, from the first rows as `load_csv` reads them.
        if names is not None and file_names != names:
            raise ValueError(
                f"{path!r} has the columns {file_names} where {paths[0]!r} "
                f"has {names}: the files of a set of series need the same "
                "columns (choose them with `columns=` or `exclude=`)."
            )
        names = file_names
        sources.append((source, indices))
    segments = []
    for k, (source, _) in enumerate(sources):
        segments += _segments(k, source, window, stride, segment_rows)
    total = sum(s.windows for s in segments)
    channels = len(names)

    def read(number):
        segment = segments[int(number)]
        source, indices = sources[segment.file]
        return _read_block(source, indices, segment, fill)

    # Each segment gives its share of a batch at a time.
    chunk = math.ceil(batch_size / min(cycle_length, len(segments)))
    counts = tf.constant([s.windows for s in segments], "int64")
    firsts = tf.constant([s.first for s in segments], "int64")
    steps = tf.range(window, dtype="int64")

    def segment_windows(number, key):
        block = tf.numpy_function(read, [number], tf.float32, stateful=False)
        block = tf.ensure_shape(block, (None, channels))
        count = tf.gather(counts, number)
        first = tf.gather(firsts, number)

        # A chunk of windows at once: the interleave alternates between the
        # segments chunk by chunk.
        def gather(i):
            if shuffle:
                i = tf.random.experimental.index_shuffle(
                    i, seed=tf.stack([key, number + 1]), max_index=count - 1
                )
            return tf.gather(block, (first + i * stride)[:, None] + steps)

        return tf.data.Dataset.range(count).batch(chunk).map(gather)

    def epoch(key):
        numbers = tf.data.Dataset.range(len(segments))
        if shuffle:
            numbers = numbers.map(
                lambda i: tf.random.experimental.index_shuffle(
                    i,
                    seed=tf.stack([key, tf.constant(0, "int64")]),
                    max_index=len(segments) - 1,
                )
            )
        return numbers.interleave(
            lambda number: segment_windows(number, key),
            cycle_length=min(cycle_length, len(segments)),
            block_length=1,
            num_parallel_calls=min(cycle_length, len(segments)),
            deterministic=True,
        )

    # One random key per epoch, a new one each time the dataset is iterated.
    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    windows = keys.take(1).flat_map(epoch).unbatch()
    dataset = windows.batch(batch_size)
    cardinality = tf.data.experimental.assert_cardinality(
        math.ceil(total / batch_size)
    )
    return without_autotune(dataset.apply(cardinality).prefetch(2))


def _segments(file, source, window, stride, segment_rows):
    """The segments of a file, from one pass over its lines."""
    starts = []  # (offset, line, row) of every segment_rows-th data row.
    offset, rows = 0, 0
    header = source.header is not None
    with open(source.path, "rb") as f:
        for line, text in enumerate(f):
            # Blank as the `csv` module skips it: nothing before the newline.
            if text.rstrip(b"\r\n"):
                if header:
                    header = False
                else:
                    if rows % segment_rows == 0:
                        starts.append((offset, line, rows))
                    rows += 1
            offset += len(text)
    if rows < window:
        raise ValueError(
            f"{source.path!r} has {rows} data rows, fewer than one window "
            f"of {window}. Received: window={window}"
        )
    last = (rows - window) // stride * stride  # The last window's start.
    segments = []
    for k, (offset, line, row) in enumerate(starts):
        first = -(-row // stride) * stride
        end = min(row + segment_rows - 1, last)
        if first > end:
            continue
        count = (end - first) // stride + 1
        read = end + window - row
        segments.append(
            _Segment(
                file, offset, line, row, read, first - row, count, starts, k
            )
        )
    return segments


def _read_block(source, indices, segment, fill):
    """The rows of a segment, as float32 `(rows, channels)`; with a forward
    fill, read from the nearest earlier segment that starts with a full
    row, so a gap takes the value before it."""
    offset, line, row = segment.offset, segment.line, segment.row
    # With a fill, the nearest earlier segment that starts with a full row
    # (else the file's first).
    for k in range(segment.index - 1 if fill else -1, -1, -1):
        offset, line, row = segment.starts[k]
        if not _starts_with_a_gap(source, indices, offset):
            break
    skip = segment.row - row
    with open(source.path, "rb") as raw:
        raw.seek(offset)
        encoding = "utf-8-sig" if offset == 0 else "utf-8"
        text = io.TextIOWrapper(raw, encoding=encoding, newline="")
        rows = _numbered_rows(text, source, line, skip + segment.rows)
        buffers, _ = _parse(rows, indices, None, fill, source)
    block = np.empty((segment.rows, len(indices)), dtype="float32")
    for j, buffer in enumerate(buffers):
        if len(buffer) != skip + segment.rows:
            raise ValueError(
                f"{source.path!r} ended before the data rows it had when "
                "the dataset was made. Do not change a file while it is read."
            )
        block[:, j] = np.frombuffer(buffer, dtype="float64")[skip:]
    return block


def _numbered_rows(text, source, line, count):
    """The first `count` non-blank rows of `text`, as `(line, row)` with
    the file's line numbers (`line` lines come before `text`)."""
    reader = csv.reader(text, delimiter=source.delimiter, strict=True)
    width = None
    taken = 0
    try:
        for row in reader:
            if not row:
                continue
            if width is None:
                width = len(row)
            elif len(row) != width:
                raise ValueError(
                    f"Ragged rows in {source.path!r}: line "
                    f"{line + reader.line_num} has {len(row)} fields where "
                    f"the rows before have {width}."
                )
            yield line + reader.line_num, row
            taken += 1
            if taken == count:
                return
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(
            f"Could not read {source.path!r} as a UTF-8 CSV file: {error}"
        ) from None


def _starts_with_a_gap(source, indices, offset):
    """Whether the row at byte `offset` misses a value of the columns
    loaded."""
    with open(source.path, "rb") as raw:
        raw.seek(offset)
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        row = next(csv.reader(text, delimiter=source.delimiter))
    return any(row[i].strip().lower() in _MISSING for i in indices)
