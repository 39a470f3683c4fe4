"""A folder of CSV files as a set of time series: `load_csv_folder`."""

import os

from keras_vae.datasets.tables import load_csv


def load_csv_folder(directory, **options):
    """Loads every CSV file of a folder as one series of a set.

    Each file is read with `load_csv(path, **options)` (so with its
    delimiter and time-column detection, `exclude`, `fill`...), in the order
    of the file names; sub-folders, hidden files and files not ending in
    `.csv` are left alone. Every file must load the same columns, by name
    and in order, as the first: a file with other columns is an error that
    names both files and the columns that differ. The series stay apart,
    so that `windows(series, window)` never makes a window across two
    files.

    Args:
        directory: The folder of `.csv` files.
        **options: Keyword arguments of `load_csv`, the same for every file
            (`columns`, `exclude`, `time_column`, `fill`, `delimiter`,
            `header`, `return_index`).

    Returns:
        `(series, column_names, files)`: a list of float32 arrays of shape
        `(rows, columns)`, one per file, the names of their columns, and
        the paths of the files in the same order. With `return_index=True`,
        `(series, column_names, files, indices)`: `indices` holds each
        file's time column (`datetime64[us]`), or `None` for a file
        without one.

    Example:

    ```python
    series, names, files = keras_vae.datasets.load_csv_folder(
        "skab/valve1/", exclude=["anomaly", "changepoint"]
    )
    x = keras_vae.datasets.windows(series, window=64, stride=8)
    ```
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"No folder at {directory!r}.")
    files = [
        os.path.join(directory, name)
        for name in sorted(os.listdir(directory))
        if name.lower().endswith(".csv") and not name.startswith(".")
    ]
    files = [path for path in files if os.path.isfile(path)]
    if not files:
        raise ValueError(
            f"No .csv files in {directory!r}. Received: directory={directory!r}"
        )
    series, indices, names = [], [], None
    for path in files:
        x, found, *index = load_csv(path, **options)
        if names is None:
            names = found
        elif found != names:
            raise ValueError(_differing_columns(files[0], names, path, found))
        series.append(x)
        indices.extend(index)
    if options.get("return_index"):
        return series, names, files, indices
    return series, names, files


def _differing_columns(first, names, path, found):
    missing = [name for name in names if name not in found]
    extra = [name for name in found if name not in names]
    how = " and ".join(
        ([f"it lacks {missing}"] if missing else [])
        + ([f"it has {extra} in addition"] if extra else [])
    )
    how = how or "the same ones in another order"
    return (
        f"{path!r} has the columns {found}, where {first!r} has {names}: "
        f"{how}. Every file of a folder is one series of the same columns: "
        "leave the others out with `exclude=` (or `columns=`), or move the "
        "file out of the folder."
    )
