"""`keras-vae score` for a model of windows: one score per time step of a
CSV file (or of each file of a folder), as a CSV file."""

import csv

import numpy as np

from keras_vae.cli.series_data import read_series

#: Importance samples per window unless --num-samples says otherwise.
DEFAULT_SAMPLES = 16


def score_series(vae, args):
    """Writes `--output`: one row per time step of `--data` with its time
    (or step number), its score in nats (`evaluation.point_scores`) and,
    with `--reference`, `anomaly`: 1 above the `--quantile` of the
    reference's scores."""
    from keras_vae import evaluation
    from keras_vae.utils.atomic import atomic_path

    num_samples = args.num_samples or DEFAULT_SAMPLES

    def scores_of(path):
        series, _, files, indices = read_series(path, args)
        scores = []
        for steps, file in zip(series, files):
            if steps.shape[1] != vae.data_shape[1]:
                raise ValueError(
                    f"{file!r} has {steps.shape[1]} columns after exclusion, "
                    f"and the model takes {vae.data_shape[1]} channels. "
                    "Pass the --exclude, --columns and --time-column of "
                    f"training. Received: --data {path}"
                )
            if args.verbose == 1:
                print(f"scoring {file} ({len(steps)} steps)")
            scores.append(
                evaluation.point_scores(
                    vae,
                    steps,
                    stride=args.stride,
                    num_samples=num_samples,
                    seed=args.seed,
                    verbose=1 if args.verbose == 1 else 0,
                )
            )
        return scores, files, indices

    scores, files, indices = scores_of(args.data)
    threshold = None
    if args.reference:
        reference = np.concatenate(scores_of(args.reference)[0])
        threshold = evaluation.anomaly_threshold(reference, args.quantile)
    header = ["file"] if len(files) > 1 else []
    header += ["time" if indices[0] is not None else "step", "score_nats"]
    if threshold is not None:
        header.append("anomaly")
    with atomic_path(args.output, overwrite=args.overwrite) as temp:
        with open(temp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for file, index, values in zip(files, indices, scores):
                times = _times(index, len(values))
                for time, value in zip(times, values):
                    row = [file] if len(files) > 1 else []
                    row += [time, f"{value:.6f}"]
                    if threshold is not None:
                        row.append(int(value > threshold))
                    writer.writerow(row)
    everything = np.concatenate(scores)
    print(
        f"scored {len(everything)} time steps of {len(files)} series: "
        f"median {np.median(everything):.2f} nats, max "
        f"{np.max(everything):.2f} (K={num_samples}, the window of "
        f"{vae.data_shape[0]} steps that ends at each step)"
    )
    if threshold is not None:
        print(
            f"threshold {threshold:.2f} nats: the {args.quantile:g} quantile "
            f"of {len(reference)} reference steps; "
            f"{int(np.sum(everything > threshold))} of {len(everything)} "
            "steps are above it"
        )
    print(f"wrote {args.output}")
    return 0


def _times(index, steps):
    """The time of each step as ISO 8601 text (seconds, or finer where the
    stamps are), or the step numbers without a time column."""
    if index is None:
        return range(steps)
    whole_seconds = np.all(index.astype("datetime64[s]") == index)
    unit = "s" if whole_seconds else "us"
    return np.datetime_as_string(index, unit=unit)
