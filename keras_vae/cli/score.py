"""`keras-vae score`: how unusual each example (or time step) is, as a CSV
file."""

import os


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "score",
        help="Score how unusual each example is (anomaly scores).",
        description=(
            "Write a CSV of the anomaly score of every example of --data: its "
            "importance-sampled negative log-likelihood under the model, in "
            "nats and bits per dimension (higher is more unusual), by file "
            "name (image folders) or row number (tables, arrays). With "
            "--reference (data known to be normal, e.g. the validation "
            "data), a threshold at a quantile of its scores is suggested "
            "and each example is marked above it or not. A model of windows "
            "of time series (keras-vae train --window) scores every time "
            "step of a CSV file (or of each file of a folder) instead: the "
            "score of the window that ends there, one row per step, with "
            "its time and, given --reference, anomaly 0/1."
        ),
    )
    parser.add_argument("model", help="A .keras file holding a keras_vae.VAE.")
    parser.add_argument(
        "--data",
        metavar="PATH",
        required=True,
        help="The examples to score: a folder of images, an .npy/.npz file "
        "(its x_train, or its one array) or a CSV table; in the units the "
        "model was trained on (as `keras-vae train --data` read them).",
    )
    parser.add_argument(
        "--reference",
        metavar="PATH",
        help="Normal examples, read as --data, whose score quantile is the "
        "suggested threshold.",
    )
    parser.add_argument(
        "--quantile",
        type=float,
        default=0.99,
        help="The quantile of the reference scores taken as the threshold. "
        "Default: 0.99.",
    )
    parser.add_argument(
        "--output", required=True, help="The CSV file to write."
    )
    parser.add_argument(
        "--num-samples",
        type=int,
        default=None,
        help="Importance samples K per example. Default: 100 (16 per "
        "window of a time series).",
    )
    parser.add_argument(
        "--resize",
        choices=("crop", "pad"),
        default="crop",
        help="Image folders: as in training. Default: crop.",
    )
    parser.add_argument(
        "--columns",
        help="CSV tables: the columns, as in training. Default: all.",
    )
    parser.add_argument(
        "--time-column",
        help="Time series: the column of time stamps, as in training. "
        "Default: a column of ISO 8601 dates, if there is one.",
    )
    parser.add_argument(
        "--exclude",
        metavar="COLUMNS",
        help="Time series: the columns left out in training, comma-separated.",
    )
    parser.add_argument(
        "--fill",
        choices=("forward",),
        default=None,
        help="Time series: fill a missing value with the one before it.",
    )
    parser.add_argument(
        "--stride",
        type=int,
        default=1,
        help="Time series: score every this many windows; each step takes "
        "the score of the latest window that ends at or before it. "
        "Default: 1.",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    parser.set_defaults(run=run)


def run(args):
    import csv
    import math

    import numpy as np

    from keras_vae import evaluation
    from keras_vae.cli.series_scores import score_series
    from keras_vae.saving import load_vae
    from keras_vae.utils.atomic import atomic_path

    if not 0 < args.quantile < 1:
        raise ValueError(
            "--quantile must be in (0, 1). "
            f"Received: --quantile {args.quantile}"
        )
    if os.path.exists(args.output) and not args.overwrite:
        raise FileExistsError(
            f"{args.output!r} exists already. Pass --overwrite. "
            f"Received: --output {args.output}"
        )
    vae = load_vae(args.model)
    if len(vae.data_shape) == 2 and _is_series_path(args.data):
        return score_series(vae, args)
    num_samples = args.num_samples or 100

    def score(examples):
        return evaluation.anomaly_scores(
            vae,
            examples,
            num_samples=num_samples,
            seed=args.seed,
            verbose=args.verbose,
        )

    ids, x = read_examples(vae, args.data, args)
    scores = score(x)
    bits = scores / (math.prod(vae.data_shape) * math.log(2))
    threshold = None
    if args.reference:
        _, reference = read_examples(vae, args.reference, args)
        reference_scores = score(reference)
        threshold = float(np.quantile(reference_scores, args.quantile))
    with atomic_path(args.output, overwrite=args.overwrite) as temp:
        with open(temp, "w", newline="") as f:
            writer = csv.writer(f)
            header = ["id", "score_nats", "bits_per_dim"]
            writer.writerow(header + (["above_threshold"] if threshold else []))
            for i, (name, score, bit) in enumerate(zip(ids, scores, bits)):
                row = [name, f"{score:.6f}", f"{bit:.6f}"]
                if threshold is not None:
                    row.append(int(score > threshold))
                writer.writerow(row)
    print(
        f"scored {len(scores)} examples: median {np.median(scores):.2f} "
        f"nats, max {np.max(scores):.2f} nats (K={num_samples})"
    )
    if threshold is not None:
        above = int(np.sum(scores > threshold))
        print(
            f"suggested threshold {threshold:.2f} nats: the "
            f"{args.quantile:g} quantile of {len(reference_scores)} reference "
            f"scores; {above} of {len(scores)} examples are above it"
        )
    print(f"wrote {args.output}")
    return 0


def _is_series_path(path):
    """A CSV file, or a folder holding CSV files: what a model of windows
    scores step by step."""
    if os.path.isdir(path):
        return any(name.lower().endswith(".csv") for name in os.listdir(path))
    return path.lower().endswith(".csv")


def read_examples(vae, path, args):
    """`(ids, x)`: every example of `path` in order, read as the model's
    training data were, with file names or row numbers as ids."""
    import numpy as np

    from keras_vae.datasets import image_folder
    from keras_vae.datasets import load_arrays
    from keras_vae.datasets import load_csv

    if os.path.isdir(path):
        shape = vae.data_shape
        if len(shape) != 3:
            raise ValueError(
                "A folder of images needs an image model; this one takes "
                f"examples of shape {shape}. Received: --data {path}"
            )
        dataset = image_folder(
            path,
            image_size=shape[:2],
            channels=shape[2],
            resize=args.resize,
            shuffle=False,
            labels=None,
        )
        x = np.concatenate([batch.numpy() for batch in dataset])
        ids = [os.path.relpath(p, path) for p in dataset.file_paths]
        return ids, x
    if path.lower().endswith(".csv"):
        columns = None
        if args.columns:
            columns = [
                int(c) if c.strip().isdigit() else c.strip()
                for c in args.columns.split(",")
            ]
        x, _ = load_csv(path, columns=columns)
        return list(range(len(x))), x
    (x, _), _ = load_arrays(path)
    return list(range(len(x))), x
