"""Numeric tables and time series from CSV files: `load_csv`."""

import collections
import contextlib
import csv
import datetime
import itertools
import math
import os
from array import array

import numpy as np

# Cells read as a missing value (compared stripped and lower-cased).
_MISSING = frozenset(("", "na", "n/a", "nan", "null", "none", "?"))
_FLOAT32_MAX = float(np.finfo("float32").max)
# The delimiters `delimiter=None` chooses from, in order of preference, and
# how many lines it looks at.
_DELIMITERS = (",", ";", "\t")
_SAMPLE_LINES = 20
_EPOCH = datetime.datetime(1970, 1, 1)
_MICROSECOND = datetime.timedelta(microseconds=1)

# What an error about a cell says of the file it is in.
_Source = collections.namedtuple(
    "_Source", ["path", "header", "delimiter", "exclude", "time_index"]
)


def load_csv(
    path,
    columns=None,
    header="infer",
    delimiter=None,
    exclude=None,
    time_column="infer",
    fill=None,
    return_index=False,
):
    """Loads the numeric columns of a CSV file as a float32 array.

    The file is read with Python's `csv` module (fields may be quoted,
    UTF-8 with or without a byte-order mark); blank lines are skipped.
    Every row must have the same number of fields, and every cell of the
    loaded columns must be a finite number: a text cell, a missing value
    (an empty cell, `NA`, `NaN`, `null`, `?`...) or an infinite one is an
    error that names the column and the line, unless `fill="forward"`
    fills the missing ones.

    Time series logs load as they are: the delimiter (`,`, `;` or tab) is
    detected, a column of ISO 8601 dates or times (`2020-02-08 13:30:47`,
    `2014-04-01T00:00:00`) is taken for the time column and kept out of
    the features (`return_index=True` returns it), and label columns are
    left out by name with `exclude`. The file is parsed row by row into
    one float64 buffer per loaded column, so memory is 12 bytes per loaded
    value (8 while reading, 4 in the result), whatever the width of the
    text.

    Args:
        path: The path of the CSV file.
        columns: Optional list of the columns to load, by name (needs a
            header) or by 0-based index, in the order wanted; one name or
            index alone is a list of one. `None` loads all columns but the
            time column and those in `exclude`.
        header: `"infer"`: the first row is a header if it holds text in a
            column where the second row holds a number (so a first row of
            names that are all numbers, e.g. `1,2,3`, is data: pass
            `header=True`; and a text column is not mistaken for a header).
            `True`: the first row is a header. `False`: there is none.
        delimiter: The one character between fields. `None` detects it
            from the first lines: the first of `,`, `;` and tab that splits
            each of them into the same number (at least 2) of fields.
        exclude: Optional list of columns left out, by name or index (e.g.
            `exclude=["anomaly", "changepoint"]`, the labels of a sensor
            log). Cannot be combined with `columns`.
        time_column: The column of dates or times, by name or index, kept
            out of the features; each of its cells must be an ISO 8601
            date or time (one with a UTC offset or `Z` is converted to
            UTC). `"infer"`: the column whose first data cell is such a
            date, if exactly one is (with `columns` given and
            `return_index=False`, no column is looked for). `None`: no
            time column.
        fill: `None`: a missing value is an error. `"forward"`: a missing
            value takes the value of the row above in its column (one in
            the first data row, with no row above, stays an error). Text
            and infinite values are errors either way, and the time column
            is never filled.
        return_index: If `True`, also return the time column.

    Returns:
        `(x, column_names)`: a float32 array of shape `(rows, columns)` and
        the names of its columns (their indices as strings, `"0"`, `"1"`...,
        without a header). Values are parsed as float64 and rounded once to
        float32, so integers above 2**24 lose precision. With
        `return_index=True`, `(x, column_names, index)`: `index` is the
        time column as a `datetime64[us]` array of shape `(rows,)`, or
        `None` when there is no time column.

    Example:

    ```python
    x, names = keras_vae.datasets.load_csv("measurements.csv")
    # A sensor log: `datetime;Accelerometer1RMS;...;anomaly;changepoint`.
    x, names, times = keras_vae.datasets.load_csv(
        "valve1/0.csv",
        exclude=["anomaly", "changepoint"],
        fill="forward",
        return_index=True,
    )
    ```
    """
    path = os.fspath(path)
    _check_arguments(header, delimiter, fill, time_column, columns, exclude)
    layout = _opened(
        path, columns, header, delimiter, exclude, time_column, return_index
    )
    with layout as (source, indices, names, data):
        buffers, times = _parse(data, indices, source.time_index, fill, source)
    x = np.empty((len(buffers[0]), len(buffers)), dtype="float32")
    for j in range(len(buffers)):
        x[:, j] = np.frombuffer(buffers[j], dtype="float64")
        buffers[j] = None  # Frees each float64 column once it is copied.
    if not return_index:
        return x, names
    if times is None:
        return x, names, None
    index = np.frombuffer(times, dtype="int64").view("datetime64[us]")
    return x, names, index


@contextlib.contextmanager
def _opened(path, columns, header, delimiter, exclude, time_column, index):
    """Opens a CSV file and yields `(source, indices, names, data)`: what an
    error says of the file (its time column included), the 0-based indices
    of the columns loaded and their names, and the data rows as `(line,
    row)`, still to read; the file closes on leaving. `index`: whether the
    time column is wanted (see `load_csv`'s `return_index`)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No CSV file at {path!r}.")
    if delimiter is None:
        delimiter = _detect_delimiter(path)
    with contextlib.closing(_read_rows(path, delimiter)) as rows:
        header, data_row, data = _split_header(rows, header, path)
        indices, time_index = _layout(
            header, data_row, path, columns, exclude, time_column, index
        )
        source = _Source(path, header, delimiter, exclude, time_index)
        names = [header[i] if header else str(i) for i in indices]
        yield source, indices, names, data


def _check_arguments(header, delimiter, fill, time_column, columns, exclude):
    if header not in ("infer", True, False):
        raise ValueError(
            'Invalid value for argument `header`: expected "infer", True or '
            f"False. Received: header={header!r}"
        )
    if delimiter is not None and not (
        isinstance(delimiter, str)
        and len(delimiter) == 1
        and delimiter not in '"\r\n'
    ):
        raise ValueError(
            "Invalid value for argument `delimiter`: expected one character, "
            "such as ',', ';' or '\\t', or None to detect it. "
            f"Received: delimiter={delimiter!r}"
        )
    if fill not in (None, "forward"):
        raise ValueError(
            'Invalid value for argument `fill`: expected None or "forward". '
            f"Received: fill={fill!r}"
        )
    if time_column is not None and not isinstance(
        time_column, (str, int, np.integer)
    ):
        raise ValueError(
            "Invalid value for argument `time_column`: expected a column "
            'name or index, "infer" or None. '
            f"Received: time_column={time_column!r}"
        )
    if columns is not None and exclude is not None:
        raise ValueError(
            "Pass either `columns` (the columns to load) or `exclude` (the "
            f"columns to leave out), not both. Received: columns={columns!r}, "
            f"exclude={exclude!r}"
        )


def _detect_delimiter(path):
    """The first of `_DELIMITERS` that splits each of the first lines into
    the same number (at least 2) of fields; if none does, the one that
    splits the first line into most fields (`,` when none splits it)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sample = list(itertools.islice(f, _SAMPLE_LINES + 1))
    except UnicodeDecodeError as error:
        raise ValueError(
            f"Could not read {path!r} as a UTF-8 CSV file: {error}"
        ) from None
    whole = len(sample) <= _SAMPLE_LINES
    widths = {}
    for delimiter in _DELIMITERS:
        records = []
        try:
            for record in csv.reader(sample, delimiter=delimiter):
                if record:
                    records.append(len(record))
        except csv.Error:
            pass
        if not whole:
            records = records[:-1]  # May end inside a quoted field.
        widths[delimiter] = records or [1]
        if len(set(records)) == 1 and records[0] > 1:
            return delimiter
    return max(_DELIMITERS, key=lambda d: widths[d][0])


def _read_rows(path, delimiter):
    """Yields `(line, row)` for each row of the file, with the line on
    which the row ends, blank lines left out."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter, strict=True)
            for row in reader:
                if row:
                    yield reader.line_num, row
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(
            f"Could not read {path!r} as a UTF-8 CSV file: {error}"
        ) from None


def _split_header(rows, header, path):
    """`(header, data_row, data)`: the names of the columns (`None` without
    a header), the first data row, and the data rows as `(line, row)`, each
    checked to have as many fields as the first row of the file."""
    first = next(rows, None)
    if first is None:
        raise ValueError(f"The CSV file {path!r} is empty.")
    second = next(rows, None)
    if header == "infer":
        header = _looks_like_header(
            [first[1]] + ([second[1]] if second else [])
        )
    if not header:
        data = itertools.chain([first], [second] if second else [], rows)
        return None, first[1], _check_widths(data, first, path)
    header = [cell.strip() for cell in first[1]]
    if second is None:
        raise ValueError(
            f"The CSV file {path!r} holds a header row and no data: {header}."
        )
    data = _check_widths(itertools.chain([second], rows), first, path)
    next(data)  # Checks the first data row's width now.
    return header, second[1], itertools.chain([second], data)


def _check_widths(rows, first, path):
    """Yields `rows`, raising at the first one whose number of fields is not
    that of the first row of the file, `first`."""
    first_line, width = first[0], len(first[1])
    for line, row in rows:
        if len(row) != width:
            raise ValueError(
                f"Ragged rows in {path!r}: line {line} has {len(row)} "
                f"fields, line {first_line} has {width}. Every row needs the "
                "same number of fields (a trailing comma adds an empty one)."
            )
        yield line, row


def _looks_like_header(rows):
    """Whether the first row has text where the second has a number (or a
    missing value): a column of text from the first row on is data."""
    if len(rows) == 1:
        return not all(map(_is_number_or_missing, rows[0]))
    return any(
        not _is_number_or_missing(first) and _is_number_or_missing(second)
        for first, second in zip(rows[0], rows[1])
    )


def _is_number_or_missing(cell):
    cell = cell.strip()
    if cell.lower() in _MISSING:
        return True
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _layout(header, row, path, columns, exclude, time_column, return_index):
    """`(indices, time_index)`: the 0-based indices of the columns loaded,
    and that of the time column (or `None`); `row` is the first data row."""
    width = len(row)
    left_out = set()
    if exclude is not None:
        left_out = set(_column_indices(exclude, header, width, path, "exclude"))
    chosen = None
    if columns is not None:
        chosen = _column_indices(columns, header, width, path)
        if not return_index and time_column == "infer":
            time_column = None
    time_index = None
    if time_column == "infer":
        taken = left_out.union(chosen or ())
        dates = [
            i
            for i in range(width)
            if i not in taken and _parse_time(row[i]) is not None
        ]
        if len(dates) > 1:
            found = [header[i] if header else i for i in dates]
            raise ValueError(
                f"Several columns of {path!r} hold dates: {found}. Name the "
                "time column with `time_column=` and leave the others out "
                "with `exclude=`. Received: time_column='infer'"
            )
        time_index = dates[0] if dates else None
    elif time_column is not None:
        (time_index,) = _column_indices(
            time_column, header, width, path, "time_column"
        )
        if time_index in left_out.union(chosen or ()):
            argument = "columns" if chosen else "exclude"
            raise ValueError(
                f"The time column {time_column!r} of {path!r} cannot also be "
                f"in `{argument}`. Received: time_column={time_column!r}, "
                f"{argument}={columns if chosen else exclude!r}"
            )
    if chosen is not None:
        return chosen, time_index
    left_out.add(time_index)
    indices = [i for i in range(width) if i not in left_out]
    if not indices:
        names = header or list(range(width))
        timed = "" if time_index is None else f", {names[time_index]!r} time"
        raise ValueError(
            f"No column of {path!r} is left to load: its columns are "
            f"{names}{timed}. Received: exclude={exclude!r}"
        )
    return indices, time_index


def _parse(data, indices, time_index, fill, source):
    """`(buffers, times)`: the values of each column of `indices` in the
    rows `data`, as float64 `array`s, and the times of column `time_index`
    in microseconds, as an int64 `array` (or `None`)."""
    buffers = [array("d") for _ in indices]
    times = None if time_index is None else array("q")
    for line, row in data:
        for buffer, i in zip(buffers, indices):
            try:
                value = float(row[i])
            except ValueError:
                value = math.nan
            if not -_FLOAT32_MAX <= value <= _FLOAT32_MAX:
                value = _fill_or_raise(buffer, fill, source, line, row, i)
            buffer.append(value)
        if times is not None:
            moment = _parse_time(row[time_index])
            if moment is None:
                _raise_bad_time(
                    source.path, line, row, time_index, source.header
                )
            times.append(moment)
    return buffers, times


def _column_indices(columns, names, width, path, argument="columns"):
    """The 0-based indices of `columns` (names or indices), given as the
    argument `argument`."""
    received = columns
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    try:
        columns = list(columns)
    except TypeError:
        columns = None
    if not columns:
        raise ValueError(
            f"Invalid value for argument `{argument}`: expected a list of "
            f"column names or indices, or None. "
            f"Received: {argument}={received!r}"
        )
    indices = []
    for column in columns:
        if isinstance(column, str):
            if names is None:
                raise ValueError(
                    f"{path!r} has no header row, so columns are chosen by "
                    f"index (0 to {width - 1}). "
                    f"Received: {argument}={received!r}"
                )
            if names.count(column) != 1:
                how = "no" if column not in names else "several"
                raise ValueError(
                    f"{path!r} has {how} column named {column!r}; its "
                    f"columns are {names}. Received: {argument}={received!r}"
                )
            indices.append(names.index(column))
        elif (
            isinstance(column, (int, np.integer))
            and not isinstance(column, bool)
            and 0 <= column < width
        ):
            indices.append(int(column))
        else:
            raise ValueError(
                f"Invalid value for argument `{argument}`: each column is a "
                f"name or an index from 0 to {width - 1} ({path!r} has "
                f"{width} columns). Received: {argument}={received!r}"
            )
    if len(set(indices)) != len(indices):
        raise ValueError(
            f"Invalid value for argument `{argument}`: a column is chosen "
            f"twice. Received: {argument}={received!r}"
        )
    return indices


def _parse_time(cell):
    """The ISO 8601 date or time `cell` in microseconds since 1970 (UTC
    if it has an offset), or `None` if it is not one (a number is not)."""
    cell = cell.strip()
    if _is_number_or_missing(cell):
        return None
    if cell[-1:] in ("Z", "z"):  # Python 3.10's fromisoformat lacks "Z".
        cell = cell[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(cell)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
        moment = moment.replace(tzinfo=None)
    return (moment - _EPOCH) // _MICROSECOND


def _fill_or_raise(buffer, fill, source, line, row, i):
    """The value that fills cell `i` of `row` (the one above it in
    `buffer`, with `fill="forward"`), or the error that says what is wrong
    with it."""
    path, header, delimiter, exclude, time_index = source
    name = header[i] if header else str(i)
    where = f"Column {name!r} (index {i}) of {path!r}"
    cell = row[i].strip()
    try:
        value = float(cell)
    except ValueError:
        value = None
    if cell.lower() in _MISSING or (value is not None and math.isnan(value)):
        if fill == "forward" and buffer:
            return buffer[-1]
        if fill == "forward":
            raise ValueError(
                f"{where} holds a missing value at line {line}, its first "
                f"data row: {row[i]!r}. There is no row above to fill it "
                'forward from (fill="forward"). Fill it in or drop that row.'
            )
        raise ValueError(
            f"{where} holds a missing value at line {line}: {row[i]!r}. "
            'Fill it in or drop that row, or pass fill="forward" to take the '
            "value of the row above."
        )
    if value is not None and math.isinf(value):
        raise ValueError(
            f"{where} holds an infinite value at line {line}: {row[i]!r}. "
            "Fill in or drop that row."
        )
    if value is not None:
        raise ValueError(
            f"{where} holds a value beyond float32's range (about 3.4e38) at "
            f"line {line}: {row[i]!r}."
        )
    numeric, text = _numeric_columns(
        path, delimiter, header, len(row), time_index
    )
    if exclude is not None:
        if isinstance(exclude, (str, int, np.integer)):
            exclude = [exclude]
        exclude = list(exclude) + [c for c in text if c not in exclude]
        advice = (
            "Only numeric columns can be loaded: leave the others out with "
            f"`exclude=`, e.g. exclude={exclude}."
        )
    elif numeric:
        advice = (
            "Only numeric columns can be loaded: choose them with "
            f"`columns=`, e.g. columns={numeric}."
        )
    else:
        advice = f"Only numeric columns can be loaded, and {path!r} has none."
    raise ValueError(f"{where} holds text at line {line}: {row[i]!r}. {advice}")


def _numeric_columns(path, delimiter, header, width, time_index):
    """`(numeric, text)`: the columns of the file (names, or indices without
    a header) whose data cells are all finite numbers, and the others but
    the time column. The file is read again: only an error needs them."""
    numeric = set(range(width))
    with contextlib.closing(_read_rows(path, delimiter)) as rows:
        if header:
            next(rows)
        for _, row in rows:
            if len(row) == width:  # A ragged row is an error of its own.
                numeric = {k for k in numeric if _is_finite_number(row[k])}
    name = (lambda k: header[k]) if header else (lambda k: k)
    text = [name(k) for k in range(width) if k not in numeric | {time_index}]
    return [name(k) for k in sorted(numeric)], text


def _raise_bad_time(path, line, row, i, header):
    name = header[i] if header else str(i)
    raise ValueError(
        f"Column {name!r} (index {i}) of {path!r} is the time column, and "
        f"line {line} holds {row[i]!r} there, not an ISO 8601 date or time "
        "such as '2020-02-08 13:30:47' (a time column is never filled). If "
        "it is not a time column, pass time_column=None and leave it out "
        "with `exclude=`."
    )


def _is_finite_number(cell):
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False
