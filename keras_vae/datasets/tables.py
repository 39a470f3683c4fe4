"""Numeric tables from CSV files: `load_csv`."""

import csv
import math
import os

import numpy as np

# Cells read as a missing value (compared stripped and lower-cased).
_MISSING = frozenset(("", "na", "n/a", "nan", "null", "none", "?"))
_FLOAT32_MAX = float(np.finfo("float32").max)


def load_csv(path, columns=None, header="infer"):
    """Loads the numeric columns of a CSV file as a float32 array.

    The file is read with Python's `csv` module (comma-separated, fields
    may be quoted, UTF-8 with or without a byte-order mark); blank lines are
    skipped. Every row must have the same number of fields, and every cell
    of the chosen columns must be a finite number: a text cell, a missing
    value (an empty cell, `NA`, `NaN`, `null`, `?`...) or an infinite one
    is an error that names the column and the line.

    Args:
        path: The path of the CSV file.
        columns: Optional list of the columns to load, by name (needs a
            header) or by 0-based index, in the order wanted; one name or
            index alone is a list of one. `None` loads all columns.
        header: `"infer"`: the first row is a header if it holds text in a
            column where the second row holds a number (so a first row of
            names that are all numbers, e.g. `1,2,3`, is data: pass
            `header=True`; and a text column is not mistaken for a header).
            `True`: the first row is a header. `False`: there is none.

    Returns:
        `(x, column_names)`: a float32 array of shape `(rows, columns)` and
        the names of its columns (their indices as strings, `"0"`, `"1"`...,
        without a header). Values are parsed as float64 and rounded once to
        float32, so integers above 2**24 lose precision.

    Example:

    ```python
    x, names = keras_vae.datasets.load_csv("measurements.csv")
    ```
    """
    path = os.fspath(path)
    if header not in ("infer", True, False):
        raise ValueError(
            'Invalid value for argument `header`: expected "infer", True or '
            f"False. Received: header={header!r}"
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No CSV file at {path!r}.")
    lines, rows = _read_rows(path)
    if not rows:
        raise ValueError(f"The CSV file {path!r} is empty.")
    width = len(rows[0])
    for line, row in zip(lines, rows):
        if len(row) != width:
            raise ValueError(
                f"Ragged rows in {path!r}: line {line} has {len(row)} "
                f"fields, line {lines[0]} has {width}. Every row needs the "
                "same number of fields (a trailing comma adds an empty one)."
            )
    if header == "infer":
        header = _looks_like_header(rows)
    if header:
        header = [cell.strip() for cell in rows[0]]
        lines, rows = lines[1:], rows[1:]
    else:
        header = None
    if not rows:
        raise ValueError(
            f"The CSV file {path!r} holds a header row and no data: {header}."
        )
    indices = _column_indices(columns, header, width, path)
    names = [header[i] if header else str(i) for i in indices]
    x = np.empty((len(rows), len(indices)), dtype="float32")
    for j, (i, name) in enumerate(zip(indices, names)):
        try:
            values = np.array([float(row[i]) for row in rows])
        except ValueError:
            values = None
        if values is None or not np.isfinite(values).all():
            _raise_bad_cell(path, lines, rows, i, name, header)
        too_large = np.flatnonzero(np.abs(values) > _FLOAT32_MAX)
        if too_large.size:
            row = too_large[0]
            raise ValueError(
                f"Column {name!r} (index {i}) of {path!r} holds a value "
                f"beyond float32's range (about 3.4e38) at line "
                f"{lines[row]}: {rows[row][i]!r}."
            )
        x[:, j] = values
    return x, names


def _read_rows(path):
    """The rows of the file, with the line on which each ends, blank lines
    left out."""
    lines, rows = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, strict=True)
            for row in reader:
                if row:
                    lines.append(reader.line_num)
                    rows.append(row)
    except (UnicodeDecodeError, csv.Error) as error:
        raise ValueError(
            f"Could not read {path!r} as a UTF-8 CSV file: {error}"
        ) from None
    return lines, rows


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


def _column_indices(columns, names, width, path):
    """The 0-based indices of `columns` (names or indices)."""
    if columns is None:
        return list(range(width))
    if isinstance(columns, (str, int, np.integer)):
        columns = [columns]
    try:
        columns = list(columns)
    except TypeError:
        columns = None
    if not columns:
        raise ValueError(
            "Invalid value for argument `columns`: expected a list of column "
            f"names or indices, or None. Received: columns={columns!r}"
        )
    indices = []
    for column in columns:
        if isinstance(column, str):
            if names is None:
                raise ValueError(
                    f"{path!r} has no header row, so columns are chosen by "
                    f"index (0 to {width - 1}). Received: columns={columns!r}"
                )
            if names.count(column) != 1:
                how = "no" if column not in names else "several"
                raise ValueError(
                    f"{path!r} has {how} column named {column!r}; its "
                    f"columns are {names}. Received: columns={columns!r}"
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
                "Invalid value for argument `columns`: each column is a name "
                f"or an index from 0 to {width - 1} ({path!r} has {width} "
                f"columns). Received: columns={columns!r}"
            )
    if len(set(indices)) != len(indices):
        raise ValueError(
            "Invalid value for argument `columns`: a column is chosen twice. "
            f"Received: columns={columns!r}"
        )
    return indices


def _raise_bad_cell(path, lines, rows, i, name, header):
    """Raises the error for the first cell of column `i` that is not a
    finite number."""
    for line, row in zip(lines, rows):
        cell = row[i].strip()
        if cell.lower() in _MISSING:
            problem = "a missing value"
        else:
            try:
                value = float(cell)
            except ValueError:
                problem = "text"
            else:
                if math.isfinite(value):
                    continue
                problem = "an infinite value"
        if problem != "text":
            advice = "Fill in or drop that row."
        else:
            numeric = [
                header[k] if header else k
                for k in range(len(row))
                if all(_is_finite_number(r[k]) for r in rows)
            ]
            advice = "Only numeric columns can be loaded" + (
                f": choose them with `columns=`, e.g. columns={numeric}."
                if numeric
                else f", and {path!r} has none."
            )
        raise ValueError(
            f"Column {name!r} (index {i}) of {path!r} holds {problem} at "
            f"line {line}: {row[i]!r}. {advice}"
        )


def _is_finite_number(cell):
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False
