"""The arguments of the `keras-vae` commands that choose the data."""

DATASETS = ("mnist", "mnist-sample", "fashion_mnist", "cifar10")


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
        "table (numeric columns). Arrays (n, H, W, C) are images, and so "
        "are uint8 arrays (n, H, W), as keras.datasets.mnist stores them "
        "(grey: the channel axis is added). uint8 arrays and image files "
        "are taken as 8-bit pixels; other values that are not all in "
        "[0, 1] (tables) are standardized inside the model.",
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
        "--window",
        type=int,
        default=None,
        help="Time series: read --data (a CSV file, or a folder of CSV "
        "files, one series each) as series of steps and model windows of "
        "this many steps, cut per file. Default: off (rows are examples).",
    )
    parser.add_argument(
        "--stride",
        type=int,
        default=1,
        help="Time series: a window starts every this many steps. Default: 1.",
    )
    parser.add_argument(
        "--time-column",
        help="Time series: the column of time stamps, kept out of the "
        "features. Default: a column of ISO 8601 dates, if there is one.",
    )
    parser.add_argument(
        "--exclude",
        metavar="COLUMNS",
        help="Time series: columns to leave out, comma-separated, e.g. "
        "label columns: --exclude anomaly,changepoint.",
    )
    parser.add_argument(
        "--fill",
        choices=("forward",),
        default=None,
        help="Time series: fill a missing value with the one before it in "
        "its column. Default: a missing value is an error.",
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
        "x_test): the fraction held out for validation, chosen by --seed "
        "(time series: the end of each series). Default: 0.1.",
    )


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


def parse_columns(text):
    """`--columns`: names, or 0-based indices as ints."""
    return [
        int(c) if c.strip().isdigit() else c.strip() for c in text.split(",")
    ]
