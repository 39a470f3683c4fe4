"""The data of the `keras-vae` commands: a named dataset (`--dataset`) or
the user's own (`--data`: a folder of images, `.npy`/`.npz`, `.csv`)."""

import os

from keras_vae.cli.command_data import Data
from keras_vae.cli.data_arguments import DATASETS
from keras_vae.cli.data_arguments import add_data_arguments
from keras_vae.cli.data_arguments import parse_columns
from keras_vae.cli.data_arguments import parse_image_size
from keras_vae.cli.distributed_folder import sharded_folder
from keras_vae.cli.folder_data import folder_data
from keras_vae.cli.folder_data import folder_options
from keras_vae.cli.folder_data import has_class_folders
from keras_vae.cli.folder_data import images_only
from keras_vae.cli.series_data import series_data

__all__ = [
    "DATASETS",
    "Data",
    "add_data_arguments",
    "has_class_folders",
    "load_data",
    "parse_image_size",
]


def load_data(
    args, batch_size=128, test_limit=2000, shuffle=True, strategy=None
):
    """Returns the `Data` the arguments of `add_data_arguments` choose.

    With a `tf.distribute` strategy, a folder is read by file shards (see
    `cli.distributed_folder.sharded_folder`) and `batch_size` is the global
    batch; other data are returned as without one (Keras distributes arrays
    itself)."""
    if args.data is not None and args.dataset is not None:
        raise ValueError(
            "Pass either --dataset or --data, not both. Received: "
            f"--dataset {args.dataset} --data {args.data}"
        )
    # Callers that build their own arguments may leave out the series ones.
    window = getattr(args, "window", None)
    if args.data is None:
        if window is not None:
            raise ValueError(
                "--window cuts your own time series (--data series.csv) "
                "into windows. Received: --window without --data"
            )
        return _named_dataset(args.dataset or "mnist", args.data_path)
    if window is not None:
        if strategy is not None:
            raise ValueError(
                "Time series (--window) train without --distribute. "
                f"Received: --distribute {args.distribute}"
            )
        return series_data(args, batch_size, test_limit, shuffle)
    if strategy is not None and os.path.isdir(args.data):
        return sharded_folder(args, strategy, batch_size, test_limit, shuffle)
    return _own_data(args, batch_size, test_limit, shuffle)


def _named_dataset(name, path=None):
    from keras_vae import datasets

    if name == "fashion_mnist":
        (x, y), (x_test, y_test) = datasets.load_fashion_mnist(path)
    elif name == "cifar10":
        (x, y), (x_test, y_test) = _load_cifar10(path)
    else:
        embedded = name == "mnist-sample"
        (x, y), (x_test, y_test) = datasets.load_mnist(path, embedded=embedded)
    kind = "8bit" if x.dtype == "uint8" else "unit"
    return Data(
        x,
        x_test,
        x_test,
        y_test,
        list(range(len(x_test))),
        x.shape[1:],
        kind,
        f"{name.replace('-', '_')}_vae",
        len(x),
        len(x_test),
    )


def _load_cifar10(path=None):
    import keras
    import numpy as np

    from keras_vae.datasets import load_arrays

    if path is not None:
        return load_arrays(path)
    (x, y), (x_test, y_test) = keras.datasets.cifar10.load_data()
    return (x, y.ravel().astype(np.int64)), (x_test, y_test.ravel())


def _own_data(args, batch_size, test_limit, shuffle):
    import numpy as np

    from keras_vae.datasets import from_path

    path = args.data
    options = {}
    if os.path.isdir(path):
        options = folder_options(args, batch_size, shuffle)
    elif path.lower().endswith(".csv") and args.columns:
        options = {"columns": parse_columns(args.columns)}
    split = None if _has_test_set(path) else args.validation_split
    if os.path.isdir(path):
        labels = has_class_folders(path)
    else:
        labels = _has_labels(path)
    train, validation = from_path(
        path, validation_split=split, seed=args.seed, labels=labels, **options
    )
    if os.path.isdir(path):
        return folder_data(
            images_only(train),
            images_only(validation),
            validation,
            len(train.file_paths),
            len(validation.file_paths),
            test_limit,
        )
    x, _ = _split_labels(train, labels)
    x_val, y_val = _split_labels(validation, labels)
    if x.dtype == np.uint8:
        kind = "8bit"
    elif x.min() >= 0 and x.max() <= 1:
        kind = "unit"
    else:
        kind = "table"
    return Data(
        x,
        x_val,
        x_val[:test_limit],
        None if y_val is None else y_val[:test_limit],
        list(range(len(x_val))),
        x.shape[1:],
        kind,
        "model",
        len(x),
        len(x_val),
    )


def _has_test_set(path):
    import numpy as np

    if not path.lower().endswith(".npz"):
        return False
    with np.load(path, allow_pickle=False) as f:
        return "x_test" in f.files


def _has_labels(path):
    import numpy as np

    if not path.lower().endswith(".npz"):
        return False
    with np.load(path, allow_pickle=False) as f:
        return "y_train" in f.files and (
            "x_test" not in f.files or "y_test" in f.files
        )


def _split_labels(data, labels):
    if data is None:
        raise ValueError(
            "There is no validation data: pass --validation-split in "
            "(0, 1). Received: --validation-split 0"
        )
    return data if labels else (data, None)
