"""The data of the `keras-vae` commands: a named dataset (`--dataset`) or
the user's own (`--data`: a folder of images, `.npy`/`.npz`, `.csv`)."""

import collections
import os

DATASETS = ("mnist", "mnist-sample", "fashion_mnist", "cifar10")

#: What a command trains or scores on. `train` and `validation` are what
#: `fit` takes (arrays, or `tf.data` datasets streamed from a folder, or,
#: under a strategy, distributed datasets of which this worker reads its
#: shard of the files); `x_test`/`y_test` are arrays of (at most
#: `test_limit`) held-out examples for pictures and summaries (`y_test`
#: None without labels); `ids` name the examples of `validation` (file
#: paths, of this worker's shard, or row numbers); `name` is the base name
#: of the output files; `num_train` and `num_validation` count the
#: examples of all workers.
Data = collections.namedtuple(
    "Data",
    "train validation x_test y_test ids input_shape kind name num_train "
    "num_validation",
)


def add_data_arguments(parser, with_model=False):
    """The arguments that choose the data (and the model file to load)."""
    if with_model:
        parser.add_argument(
            "model", help="A .keras file holding a keras_vae.VAE."
        )
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default=None,
        help="A named dataset; mnist-sample is the 8k/2k subset shipped "
        "with the package (offline). Default: mnist, unless --data.",
    )
    parser.add_argument(
        "--data-path",
        help="A local .npz in the keras.datasets layout for --dataset "
        "(otherwise $KERAS_VAE_DATA_DIR, else download).",
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="Your own data: a folder of images (JPEG, PNG, BMP, GIF; "
        "searched recursively, class subfolders are labels, streamed), an "
        ".npy/.npz file (the keras.datasets layout or one array) or a CSV "
        "table (numeric columns). uint8 arrays and images are taken as "
        "8-bit pixels; other values that are not all in [0, 1] (tables) "
        "are standardized inside the model.",
    )
    parser.add_argument(
        "--image-size",
        metavar="SIZE",
        default="64",
        help="Image folders: the size images are made, N or HxW. Default: 64.",
    )
    parser.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=3,
        help="Image folders: 1 (grey) or 3 (RGB). Default: 3.",
    )
    parser.add_argument(
        "--resize",
        choices=("crop", "pad"),
        default="crop",
        help="Image folders: keep the aspect ratio and crop the centre, or "
        "fit the whole image and pad with black. Default: crop.",
    )
    parser.add_argument(
        "--columns",
        help="CSV tables: the columns to use, names or 0-based indices, "
        "comma-separated. Default: every column.",
    )
    parser.add_argument(
        "--skip-bad-files",
        action="store_true",
        help="Image folders: leave out files that cannot be decoded (they "
        "are listed) instead of stopping with an error.",
    )
    parser.add_argument(
        "--validation-split",
        type=float,
        default=0.1,
        help="--data without a test set (folders, CSV, arrays without "
        "x_test): the fraction held out for validation, chosen by --seed. "
        "Default: 0.1.",
    )


def load_data(
    args, batch_size=128, test_limit=2000, shuffle=True, strategy=None
):
    """Returns the `Data` the arguments of `add_data_arguments` choose.

    With a `tf.distribute` strategy, a folder is read by file shards (see
    `_sharded_folder`) and `batch_size` is the global batch; other data
    are returned as without one (Keras distributes arrays itself)."""
    if args.data is not None and args.dataset is not None:
        raise ValueError(
            "Pass either --dataset or --data, not both. Received: "
            f"--dataset {args.dataset} --data {args.data}"
        )
    if args.data is None:
        return _named_dataset(args.dataset or "mnist", args.data_path)
    if strategy is not None and os.path.isdir(args.data):
        return _sharded_folder(args, strategy, batch_size, test_limit, shuffle)
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
        options = _folder_options(args, batch_size, shuffle)
    elif path.lower().endswith(".csv") and args.columns:
        options = {"columns": _parse_columns(args.columns)}
    split = None if _has_test_set(path) else args.validation_split
    if os.path.isdir(path):
        labels = has_class_folders(path)
    else:
        labels = _has_labels(path)
    train, validation = from_path(
        path, validation_split=split, seed=args.seed, labels=labels, **options
    )
    if os.path.isdir(path):
        x_test, y_test = _first_examples(validation, test_limit)
        ids = list(validation.file_paths)
        return Data(
            _images(train),
            _images(validation),
            x_test,
            y_test,
            ids,
            x_test.shape[1:],
            "8bit",
            "model",
            len(train.file_paths),
            len(ids),
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


def _folder_options(args, batch_size, shuffle):
    return dict(
        image_size=parse_image_size(args.image_size),
        channels=args.channels,
        resize=args.resize,
        skip_bad_files=args.skip_bad_files,
        batch_size=batch_size,
        shuffle=shuffle,
    )


def _sharded_folder(args, strategy, batch_size, test_limit, shuffle):
    """A folder under `strategy`: `tf.distribute.DistributedDataset`s of
    which each worker's input pipeline checks, reads and decodes only its
    shard of the files, batched per replica.

    Every shard is split like the whole folder (a file's side depends only
    on its path and the seed), so the validation set is sharded too: each
    worker scores its share and the VAE's metrics sum over all replicas,
    the exact mean over all validation files. `x_test`/`y_test` come from
    this worker's validation shard."""
    import tensorflow as tf

    from keras_vae.datasets import from_path

    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(
            "--batch-size is the global batch, which a folder splits evenly "
            f"over the {replicas} replicas: pass a multiple of {replicas}. "
            f"Received: --batch-size {batch_size}"
        )
    # Keras averages the first batch over the replicas to build the model;
    # a multi-worker strategy does that with collective ops, which take no
    # uint8 (the model takes any type of pixel values 0-255).
    dtype = "uint8"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        dtype = "int32"
    shards = {}  # One pipeline per worker: built once, for both datasets.

    def pipeline(context, subset):
        index = context.input_pipeline_id
        if index not in shards:
            options = _folder_options(
                args, context.get_per_replica_batch_size(batch_size), shuffle
            )
            shards[index] = from_path(
                args.data,
                validation_split=args.validation_split,
                seed=args.seed,
                labels=has_class_folders(args.data),
                shard=(context.num_input_pipelines, index),
                **options,
            )
        images = _images(shards[index][subset]).map(lambda x: tf.cast(x, dtype))
        return _of_unknown_length(images)

    train = strategy.distribute_datasets_from_function(
        lambda context: pipeline(context, 0)
    )
    validation = strategy.distribute_datasets_from_function(
        lambda context: pipeline(context, 1)
    )
    (local_train, local_validation), *_ = shards.values()
    ids = list(local_validation.file_paths)
    num_train, num_validation = _sum_over_workers(
        strategy, [len(local_train.file_paths), len(ids)]
    )
    # Keras builds the model from the first step's batches, averaged over
    # the replicas, which fails unless every replica has a full batch.
    if min(num_train, num_validation) < batch_size:
        raise ValueError(
            "Under --distribute, a folder's training and validation sets "
            "must each hold at least --batch-size files, so that every "
            f"replica's first batch is full. They hold {num_train} and "
            f"{num_validation}: pass a smaller --batch-size (or a larger "
            f"--validation-split). Received: --batch-size {batch_size}"
        )
    x_test, y_test = _first_examples(local_validation, test_limit)
    return Data(
        train,
        validation,
        x_test,
        y_test,
        ids,
        x_test.shape[1:],
        "8bit",
        "model",
        num_train,
        num_validation,
    )


def _of_unknown_length(dataset):
    """`dataset`, of unknown length to Keras and tf.distribute.

    Keras takes a distributed dataset's cardinality for its steps per
    epoch, but it counts the batches of one pipeline: as many per step as
    the worker has replicas, and one more on a worker whose shard has one
    more file across a batch boundary (a worker that stopped a step early
    would leave the others waiting in that step's all-reduce). Of unknown
    length, an epoch ends when tf.distribute finds every worker out of
    files (those out first get empty batches meanwhile)."""
    return dataset.filter(lambda x: True)


def _sum_over_workers(strategy, counts):
    """This worker's `counts` summed over the workers (each worker's
    replicas hold its counts, so the sum over replicas counts each worker
    as many times as it has replicas)."""
    import tensorflow as tf

    values = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(counts, "int64")
    )
    total = strategy.reduce("SUM", values, axis=None).numpy()
    return [int(t) // len(strategy.extended.worker_devices) for t in total]


def parse_image_size(text):
    """`N` or `HxW` as a `(height, width)` tuple."""
    parts = str(text).lower().split("x")
    try:
        size = tuple(int(p) for p in parts)
    except ValueError:
        size = ()
    if len(size) == 1:
        size = size * 2
    if len(size) != 2 or min(size) < 1:
        raise ValueError(
            "--image-size must be N or HxW, positive integers. "
            f"Received: --image-size {text}"
        )
    return size


def _parse_columns(text):
    return [
        int(c) if c.strip().isdigit() else c.strip() for c in text.split(",")
    ]


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


def has_class_folders(path):
    """Whether a folder of images is sorted into class subfolders (its
    labels), rather than holding the images themselves."""
    from keras_vae.datasets import IMAGE_EXTENSIONS

    entries = [e for e in os.scandir(path) if not e.name.startswith(".")]
    return any(e.is_dir() for e in entries) and not any(
        e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)
        for e in entries
    )


def _images(dataset):
    """The images of a dataset of images, or of `(images, labels)`."""
    if isinstance(dataset.element_spec, tuple):
        return dataset.map(lambda x, y: x)
    return dataset


def _first_examples(dataset, limit):
    """Up to `limit` examples of a batched dataset of images or of
    `(images, labels)`, as arrays `(x, y)` (`y` None without labels)."""
    import numpy as np

    xs, ys, count = [], [], 0
    for batch in dataset:
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        xs.append(x.numpy())
        ys.append(None if y is None else y.numpy())
        count += len(xs[-1])
        if limit is not None and count >= limit:
            break
    y = None if ys[0] is None else np.concatenate(ys)[:limit]
    return np.concatenate(xs)[:limit], y
