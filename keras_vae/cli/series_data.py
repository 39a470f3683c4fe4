"""Time series for the `keras-vae` commands (`--window`): a CSV file or a
folder of CSV files, read as series and cut into windows per file."""

import os

from keras_vae.cli.command_data import Data
from keras_vae.cli.data_arguments import parse_columns

#: Column names that hold labels rather than measurements (compared
#: lower-cased): such a column of 0s and 1s among the features is refused.
LABEL_NAMES = frozenset(
    (
        "anomaly",
        "anomalies",
        "is_anomaly",
        "label",
        "labels",
        "changepoint",
        "outlier",
        "target",
    )
)


def read_series(path, args):
    """`(series, names, files, indices)` of a CSV file or a folder of them,
    read with the `--time-column`, `--exclude`, `--fill` and `--columns`
    arguments: a list of float32 `(steps, channels)` arrays, the channels'
    names, the files and each file's time index (`None` without a time
    column)."""
    from keras_vae.datasets import load_csv
    from keras_vae.datasets import load_csv_folder

    options = {
        "columns": parse_columns(args.columns) if args.columns else None,
        "exclude": _split(args.exclude),
        "time_column": args.time_column or "infer",
        "fill": args.fill,
        "return_index": True,
    }
    if options["columns"] is not None and options["exclude"]:
        raise ValueError(
            "Pass either --columns (the columns to use) or --exclude (the "
            f"columns to leave out), not both. Received: --columns "
            f"{args.columns} --exclude {args.exclude}"
        )
    if os.path.isdir(path):
        series, names, files, indices = load_csv_folder(path, **options)
    elif path.lower().endswith(".csv"):
        x, names, index = load_csv(path, **options)
        series, files, indices = [x], [path], [index]
    else:
        raise ValueError(
            "--window reads time series from a CSV file or a folder of CSV "
            f"files. Received: --data {path}"
        )
    if options["columns"] is None:
        _refuse_label_columns(series, names, files)
    return series, names, files, indices


def series_data(args, batch_size, test_limit, shuffle):
    """The `Data` of `--data` read as time series and cut into windows of
    `--window` steps every `--stride`: each file's first part trains and
    its last `--validation-split` validates (a split in time, so that no
    validation step is in a training window), streamed as `tf.data`
    datasets of windows."""
    import numpy as np

    from keras_vae.datasets import windows
    from keras_vae.datasets import windows_dataset
    from keras_vae.utils.argument_checks import check_positive_int

    window = check_positive_int(args.window, "window")
    stride = check_positive_int(args.stride, "stride")
    if not 0 < args.validation_split < 1:
        raise ValueError(
            "--window holds out the end of each series for validation: "
            "--validation-split must be in (0, 1). Received: "
            f"--validation-split {args.validation_split}"
        )
    series, _, files, _ = read_series(args.data, args)
    train, validation = [], []
    for steps, file in zip(series, files):
        cut = round(len(steps) * (1 - args.validation_split))
        if min(cut, len(steps) - cut) < window:
            raise ValueError(
                f"{file!r} has {len(steps)} steps: its first "
                f"{1 - args.validation_split:g} ({cut} steps) and its last "
                f"{args.validation_split:g} ({len(steps) - cut} steps) must "
                f"each hold a window of {window}. Choose a shorter --window "
                f"or another --validation-split. Received: --window {window}"
            )
        train.append(steps[:cut])
        validation.append(steps[cut:])
    counts = [
        sum((len(s) - window) // stride + 1 for s in parts)
        for parts in (train, validation)
    ]
    if test_limit is None:  # `evaluate`: every validation window.
        x_test = windows(validation, window, stride)
    else:  # Pictures and summaries: the first validation windows only.
        first = [s[: test_limit + window - 1] for s in validation[:1]]
        x_test = windows(first, window, stride)[:test_limit]
    return Data(
        windows_dataset(
            train, window, stride, batch_size, shuffle=shuffle, seed=args.seed
        ),
        windows_dataset(validation, window, stride, batch_size, shuffle=False),
        x_test,
        None,
        list(range(counts[1])),
        (window, series[0].shape[1]),
        "series",
        "model",
        counts[0],
        counts[1],
        np.concatenate(train),
    )


def _split(text):
    if not text:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def _refuse_label_columns(series, names, files):
    """Refuses a column named like a label whose values are all 0 or 1:
    training on it would teach the model the labels."""
    import numpy as np

    for j, name in enumerate(names):
        if name.strip().lower() not in LABEL_NAMES:
            continue
        if all(np.isin(s[:, j], (0.0, 1.0)).all() for s in series):
            raise ValueError(
                f"Column {name!r} of {files[0]!r} looks like a label (its "
                "name, and values all 0 or 1), not a measurement: leave it "
                f"out with --exclude {name}, or pass the columns to use "
                "with --columns to keep it. Received: the columns "
                f"{names}"
            )
