"""NAB's 58 series through a streaming detector, scored by NAB's own scorer.

A detector is a function

    detect(timestamps, values, probation) -> scores

called once per file of NAB (the Numenta Anomaly Benchmark, v1.1, in
../shared/data/nab.tar.gz): `timestamps` (datetime64[s]) and `values`
(float64) are the whole file, `probation` the number of rows of its
probationary period, and `scores` one float in [0, 1] per row, the higher
the more anomalous. The contract:

- causal (NAB's rule): the score of row t depends on rows 0..t only;
- learning from the probationary rows only: a model is fitted on
  `values[:probation]`, then frozen; running statistics of the past (of
  the values, of the model's errors) are causal and allowed. This is
  stricter than NAB, whose detectors (HTM, CAD OSE, ARTime...) learn
  online from every row they have seen;
- NAB ignores the scores of the probationary rows.

The harness cannot see inside a detector, but `check_causal` (the
`--check-causal` flag) tests the contract: a detector that obeys it gives
on a prefix of a file the same scores as on the whole file. It catches
look-ahead and training on rows after the probationary period alike.

The probationary period is NAB's own: the first 15% of a file but at most
750 rows (`nab/util.py: getProbationPeriod`; NAB's README says 15%, its
scorer caps it at 0.15 x 5000). Files longer than 5,000 rows (the Twitter,
taxi and machine temperature series) thus learn from their first 750 rows;
training on all of their first 15% would look ahead of rows the scorer
counts.

For each detector the harness writes
`results/<detector>/<category>/<detector>_<name>.csv` (columns
`timestamp,value,anomaly_score,label`, `label` 1 inside a labelled window,
as NAB's own runner writes it) into a copy of NAB extracted in a temporary
folder, writes the null detector's results (a constant 0.5: the baseline
that normalization needs), and runs, in that copy,

    python run.py -d null <detectors> --optimize --score --normalize \\
        --skipConfirmation -n 1

with the scorer's Python: the optimizer picks, per profile, the one
threshold over the whole corpus that maximizes the raw score; the scores
are normalized so that 100 is perfect and 0 the null detector. NAB's
scorer is old code that needs pandas 1.5 and NumPy 1: it runs in its own
virtual environment, outside the repository (default ../nab-venv, created
on first use; `--nab-python` names another).

Beside the three profiles the report gives point-wise precision, recall
and F1 at the standard profile's threshold: every scored row (after the
probationary period) is a prediction, the rows inside the labelled
windows the positives. The counts are the scorer's own (the `Totals` row
of `<detector>_standard_scores.csv`). They are not point-adjusted:
point adjustment counts every row of a window as detected once one row
of it is, and NAB's windows are wide (a tenth of a file's length shared
among its anomalies), so random scores, flagging a few rows per window
by chance, get the best point-adjusted F1 of all the detectors in
`baselines` (0.93, best over thresholds; point-wise 0.18, the F1 of
flagging every row): see Kim et al., "Towards a rigorous evaluation of
time-series anomaly detection", AAAI 2022. `--point-adjusted` prints both
F1s, best over all thresholds, to show it.

The scores are written in full. NAB's stored results (and so its
scoreboard's older rows) were written by Python 2's `str`, to 12
significant digits, which rounds scores above 1 - 5e-13 to 1.0 and ties
them at the top: NAB's windowed Gaussian scores 39.65 written so
(`--digits 12`), 40.13 in full.

`benchmarks.nab.scoring` is NAB's scorer ported to NumPy (0.2 s a
detector against about 20 s): the harness runs it beside NAB's and warns
if they differ; `--fast` runs it alone, to tune a detector.

Commands, from the repository root (the data through
`KERAS_VAE_DATA_DIR`, else ../shared/data); a detector and NAB's scorer
take about 40 s on 2 cores, plus the detector's own time:

    # NAB's stored windowedGaussian results: 39.65 / 20.87 / 47.41.
    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.nab.harness --stored windowedGaussian

    # Detectors of benchmarks/nab/baselines.py, by name.
    .venv/bin/python -m benchmarks.nab.harness --check-causal 6 \\
        --detectors gaussian random linearSurpriseLikelihoodSpatial

    # Any detect function: NAME=module:function (NAME in camelCase).
    .venv/bin/python -m benchmarks.nab.harness \\
        --detectors vae=my_package.nab:detect

    # Tuning: NAB's scorer in NumPy only.
    .venv/bin/python -m benchmarks.nab.harness --fast --detectors ...

From Python, `evaluate({"name": detect, ...})` returns the numbers and
`format_report` the table.
"""

import argparse
import csv
import dataclasses
import datetime
import importlib
import json
import math
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

from benchmarks.machine import ROOT
from benchmarks.machine import machine
from benchmarks.machine import save_report
from benchmarks.nab.scoring import score_corpus

#: This benchmark, as `python -m` runs it.
MODULE = "benchmarks.nab.harness"

# $KERAS_VAE_DATA_DIR, else ../shared/data from the project root.
ARCHIVE = os.path.join(
    os.environ.get("KERAS_VAE_DATA_DIR")
    or os.path.join(ROOT, "..", "shared", "data"),
    "nab.tar.gz",
)

#: The scorer's virtual environment, outside the repository.
NAB_PYTHON = os.path.join(ROOT, "..", "nab-venv", "bin", "python")

#: The scorer's environment, as ../shared/data/README.md gives it. Its
#: code (run.py, nab/*.py but plot.py) imports pandas (with dateutil) and
#: NumPy, and simplejson if present; with pandas 2 it fails ("assignment
#: destination is read-only"). scikit-learn is for NAB's own detectors.
SCORER_REQUIREMENTS = ("pandas==1.5.3", "numpy<2", "simplejson", "scikit-learn")

#: NAB's scoring profiles, in the order the report gives them.
PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")

#: NAB's scoreboard (its README, standard profile), with each detector's
#: name in `nab/results/final_results.json`, where the other two profiles
#: are read. NAB's README gives Random as the mean of several seeds; the
#: JSON holds one seed (42): 16.8.
SCOREBOARD = (
    ("Perfect", None, 100.0),
    ("ARTime", "ARTime", 74.9),
    ("Numenta HTM", "numenta", 70.5),
    ("CAD OSE", "contextOSE", 69.9),
    ("earthgecko Skyline", "earthgeckoSkyline", 58.2),
    ("KNN CAD", "knncad", 58.0),
    ("Relative Entropy", "relativeEntropy", 54.6),
    ("Random Cut Forest", "randomCutForest", 51.7),
    ("Twitter ADVec", "twitterADVec", 47.1),
    ("Windowed Gaussian", "windowedGaussian", 39.6),
    ("Etsy Skyline", "skyline", 35.7),
    ("Bayesian Changepoint", None, 17.7),
    ("EXPoSE", "expose", 16.4),
    ("Random", "random", 11.0),
    ("Null", "null", 0.0),
)

#: A detector's name is a directory and a file-name prefix to NAB, which
#: splits file names at "_": letters and digits only.
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


@dataclasses.dataclass(frozen=True)
class Series:
    """One file of NAB.

    Attributes:
        name: Its path under `nab/data/`, e.g. `"realKnownCause/nyc_taxi.csv"`.
        timestamps: `datetime64[s]`, one per row.
        values: float64, one per row.
        labels: int8, 1 for the rows inside a labelled window.
        windows: The labelled windows, `(first, last)` timestamps (both in).
        probation: The number of rows of its probationary period.
        text: Its rows as the file writes them, `(timestamp, value)`
            strings, so that the results files repeat them verbatim.
    """

    name: str
    timestamps: np.ndarray
    values: np.ndarray
    labels: np.ndarray
    windows: tuple
    probation: int
    text: tuple


def probation_length(rows, percent=0.15):
    """NAB's probationary period (`nab/util.py: getProbationPeriod`): the
    first `percent` of the rows, but at most `percent` x 5000."""
    return int(min(math.floor(percent * rows), percent * 5000))


def extract(archive, directory):
    """Extracts NAB into `directory`; returns the path of its `nab/`."""
    with tarfile.open(archive) as tar:
        # Python's safe extraction where it has it (3.10.12, 3.11.4 on).
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(directory, **safe)
    return os.path.join(directory, "nab")


def load_corpus(nab):
    """The 58 series of NAB's `data/` with the windows of
    `labels/combined_windows.json`, sorted by name."""
    with open(os.path.join(nab, "labels", "combined_windows.json")) as f:
        all_windows = json.load(f)
    corpus = []
    for name in sorted(all_windows):
        with open(os.path.join(nab, "data", name), newline="") as f:
            reader = csv.reader(f)
            if next(reader) != ["timestamp", "value"]:
                raise ValueError(
                    f"{name}: expected the columns timestamp,value"
                )
            text = tuple((row[0], row[1]) for row in reader)
        timestamps = np.array([t for t, _ in text], dtype="datetime64[s]")
        windows = tuple(
            (np.datetime64(first, "s"), np.datetime64(last, "s"))
            for first, last in all_windows[name]
        )
        labels = np.zeros(len(text), dtype="int8")
        for first, last in windows:
            labels[(timestamps >= first) & (timestamps <= last)] = 1
        corpus.append(
            Series(
                name=name,
                timestamps=timestamps,
                values=np.array([v for _, v in text], dtype="float64"),
                labels=labels,
                windows=windows,
                probation=probation_length(len(text)),
                text=text,
            )
        )
    return corpus


def validate_scores(scores, series, detector):
    """`scores` as a float64 array, checked: one per row, finite, in
    [0, 1]."""
    scores = np.asarray(scores, dtype="float64")
    if scores.shape != series.values.shape:
        raise ValueError(
            f"Detector {detector!r} on {series.name}: expected "
            f"{series.values.shape[0]} scores. Received: shape {scores.shape}"
        )
    if not np.all(np.isfinite(scores)) or scores.min() < 0 or scores.max() > 1:
        raise ValueError(
            f"Detector {detector!r} on {series.name}: expected finite scores "
            f"in [0, 1]. Received: min={scores.min()}, max={scores.max()}"
        )
    return scores


def check_causal(detect, series, scores=None, cuts=None, atol=1e-9):
    """Raises `AssertionError` unless `detect` gives on the first rows of
    `series` (up to each of `cuts`) the scores it gives them on the whole
    file (`scores` if given): it then neither looks ahead nor learns from
    rows after the probationary period. `cuts` default to a tenth and half
    of the way through the scored rows: an early one for statistics of the
    whole file, which a long prefix may share. The default `atol` allows
    for rounding (a matrix product of another size sums in another order);
    nondeterministic training needs more."""
    if scores is None:
        scores = detect(
            series.timestamps.copy(), series.values.copy(), series.probation
        )
    scored = len(series.values) - series.probation
    if cuts is None:
        cuts = [series.probation + max(1, scored // 10)]
        cuts.append(series.probation + scored // 2)
    for cut in cuts:
        prefix = detect(
            series.timestamps[:cut].copy(),
            series.values[:cut].copy(),
            series.probation,
        )
        difference = np.max(np.abs(np.asarray(prefix) - scores[:cut]))
        if not difference <= atol:
            raise AssertionError(
                f"{series.name}: the scores of the first {cut} rows change "
                f"by up to {difference:.3g} when the rows after them are "
                "known: the detector looks ahead or learns after the "
                "probationary period"
            )


def write_results(nab, detector, series, scores, digits=None):
    """Writes `results/<detector>/<category>/<detector>_<file>` as NAB's
    runner does, the scores in full (`repr`) or to `digits` significant
    digits (12: as NAB's stored results, written by Python 2's `str`)."""
    category, file = series.name.split("/")
    folder = os.path.join(nab, "results", detector, category)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{detector}_{file}"), "w") as f:
        f.write("timestamp,value,anomaly_score,label\n")
        for (timestamp, value), score, label in zip(
            series.text, scores.tolist(), series.labels.tolist()
        ):
            score = repr(score) if digits is None else f"{score:.{digits}g}"
            f.write(f"{timestamp},{value},{score},{label}\n")


def scorer_python(path=NAB_PYTHON):
    """The scorer's Python at `path` (a virtual environment's
    `bin/python`), created with `SCORER_REQUIREMENTS` if missing."""
    if not os.path.exists(path):
        venv = os.path.dirname(os.path.dirname(os.path.abspath(path)))
        print(f"creating NAB's scorer environment in {venv}", flush=True)
        base = getattr(sys, "_base_executable", sys.executable)
        subprocess.run([base, "-m", "venv", venv], check=True)
        subprocess.run(
            [path, "-m", "pip", "install", "-q", *SCORER_REQUIREMENTS],
            check=True,
        )
    return path


def run_scorer(nab, detectors, python):
    """Scores the results of `detectors` in `nab/results/` (and the null
    detector's, written here) with NAB's `run.py`. Returns, per detector,
    the normalized score of each profile, the standard profile's threshold
    and its point-wise counts (`tp`, `fp`, `fn`, `tn`)."""
    for series in load_corpus(nab):
        write_results(nab, "null", series, np.full(len(series.values), 0.5))
    command = [python, "run.py", "-d", "null", *detectors]
    command += ["--optimize", "--score", "--normalize", "--skipConfirmation"]
    command += ["-n", "1"]
    process = subprocess.run(command, cwd=nab, capture_output=True, text=True)
    if process.returncode:
        raise RuntimeError(
            f"NAB's scorer failed ({' '.join(command)}):\n"
            + process.stdout[-3000:]
            + process.stderr[-3000:]
        )
    with open(os.path.join(nab, "results", "final_results.json")) as f:
        final = json.load(f)
    with open(os.path.join(nab, "config", "thresholds.json")) as f:
        thresholds = json.load(f)
    scores = {}
    for detector in detectors:
        path = os.path.join(
            nab, "results", detector, f"{detector}_standard_scores.csv"
        )
        with open(path, newline="") as f:
            totals = [row for row in csv.DictReader(f)][-1]
        if totals["Detector"] != "Totals":
            raise RuntimeError(f"no Totals row in {path}")
        scores[detector] = {
            **{profile: final[detector][profile] for profile in PROFILES},
            "threshold": thresholds[detector]["standard"]["threshold"],
            **{k.lower(): int(totals[k]) for k in ("TP", "FP", "FN", "TN")},
        }
    return scores


def pointwise(counts):
    """Precision, recall and F1 of point-wise counts (no adjustment)."""
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return precision, recall, f1


def best_f1(corpus, scores, adjust=False):
    """The best F1 over thresholds (one for the corpus: 501 quantiles of
    the scores) of the scored rows, point-wise or, if `adjust`,
    point-adjusted: every row of a window counts as detected once one of
    its scored rows is flagged. Never less than the F1 of flagging every
    row."""
    flat, positive, segment, windows = [], [], [], 0
    for s, series in zip(scores, corpus):
        scored = slice(series.probation, None)
        labels = series.labels[scored] == 1
        flat.append(s[scored])
        positive.append(labels)
        # One id per window (a run of labelled rows), -1 outside.
        run = np.cumsum(np.diff(labels.astype(int), prepend=0) == 1)
        segment.append(np.where(labels, run + windows, -1))
        windows += int(run[-1])
    flat, positive = np.concatenate(flat), np.concatenate(positive)
    segment = np.concatenate(segment)
    thresholds = np.unique(np.quantile(flat, np.linspace(0, 1, 501)))
    # Flagging every row: the F1 that any detector can have.
    rate = np.mean(positive)
    best = 2 * rate / (1 + rate)
    for threshold in thresholds:
        flagged = flat >= threshold
        if adjust:
            hit = np.unique(segment[flagged & positive])
            flagged = flagged | np.isin(segment, hit) & positive
        tp = np.sum(flagged & positive)
        if tp:
            precision = tp / np.sum(flagged)
            recall = tp / np.sum(positive)
            best = max(best, 2 * precision * recall / (precision + recall))
    return float(best)


def read_results(nab, detector, series):
    """The scores of a results file in `nab/results/`."""
    category, file = series.name.split("/")
    path = os.path.join(
        nab, "results", detector, category, f"{detector}_{file}"
    )
    with open(path, newline="") as f:
        return np.array(
            [float(row["anomaly_score"]) for row in csv.DictReader(f)]
        )


def evaluate(
    detectors,
    archive=ARCHIVE,
    nab_python=NAB_PYTHON,
    stored=(),
    check_files=0,
    atol=1e-9,
    point_adjusted=False,
    digits=None,
    fast=False,
    keep=None,
):
    """Runs each detector on NAB's 58 files and scores them with NAB's
    scorer.

    Args:
        detectors: `{name: detect}`; names of letters and digits.
        archive: nab.tar.gz.
        nab_python: The scorer's Python (created if missing).
        stored: Names of detectors whose results NAB's archive holds
            (`windowedGaussian`), scored as they are.
        check_files: On how many files (spread over the corpus) to run
            `check_causal` for each detector.
        atol: Its tolerance.
        point_adjusted: Whether to compute the best point-wise and
            point-adjusted F1 over all thresholds too.
        digits: Significant digits of the scores written (None: all).
        fast: Score with `benchmarks.nab.scoring` (NAB's scorer in NumPy)
            only, not NAB's `run.py`: to tune.
        keep: A folder to extract NAB into and keep (results and scores
            stay there); by default a temporary one.

    Returns:
        `{name: {profile: score, "threshold", "tp", "fp", "fn", "tn",
        "precision", "recall", "f1", "detect_s", "numpy_standard"}}`
        (`numpy_standard`: the standard score by `benchmarks.nab.scoring`)
        and the seconds NAB's scorer took (None if `fast`).
    """
    for name in [*detectors, *stored]:
        if not NAME.match(name) or name == "null":
            raise ValueError(
                "Invalid detector name: expected letters and digits "
                f"(NAB splits file names at '_'), not 'null'. Received: {name}"
            )
    python = None if fast else scorer_python(nab_python)
    with tempfile.TemporaryDirectory(prefix="nab-") as temporary:
        directory = keep or temporary
        os.makedirs(directory, exist_ok=True)
        nab = extract(archive, directory)
        corpus = load_corpus(nab)
        results, all_scores = {}, {}
        for name, detect in detectors.items():
            start = time.perf_counter()
            all_scores[name] = []
            for series in corpus:
                scores = detect(
                    series.timestamps.copy(),
                    series.values.copy(),
                    series.probation,
                )
                scores = validate_scores(scores, series, name)
                all_scores[name].append(scores)
                write_results(nab, name, series, scores, digits)
            results[name] = {"detect_s": time.perf_counter() - start}
            print(
                f"{name}: {len(corpus)} files in "
                f"{results[name]['detect_s']:.1f} s",
                flush=True,
            )
            if check_files:
                step = max(1, len(corpus) // check_files)
                for i in range(0, len(corpus), step)[:check_files]:
                    check_causal(
                        detect, corpus[i], all_scores[name][i], atol=atol
                    )
                print(f"{name}: causal on {check_files} files", flush=True)
        for name in stored:
            results[name] = {"detect_s": None}
            all_scores[name] = [read_results(nab, name, s) for s in corpus]
        for name, scores in all_scores.items():
            # As written: NAB's scorer reads the rounded scores.
            if digits is not None:
                scores = [
                    np.array([float(f"{v:.{digits}g}") for v in s])
                    for s in scores
                ]
            numbers = score_corpus(corpus, scores)
            results[name]["numpy_standard"] = numbers["standard"]
            if fast:
                results[name].update(numbers)
        scorer_s = None
        if not fast:
            start = time.perf_counter()
            scored = run_scorer(nab, [*detectors, *stored], python)
            scorer_s = time.perf_counter() - start
            for name, numbers in scored.items():
                results[name].update(numbers)
                difference = (
                    numbers["standard"] - results[name]["numpy_standard"]
                )
                if abs(difference) > 0.01:
                    print(
                        f"warning: {name}: NAB's scorer and "
                        "benchmarks.nab.scoring differ by "
                        f"{difference:.3f} (standard profile)",
                        flush=True,
                    )
        for name, scores in all_scores.items():
            precision, recall, f1 = pointwise(results[name])
            results[name].update(precision=precision, recall=recall, f1=f1)
            if point_adjusted:
                results[name]["best_f1"] = best_f1(corpus, scores)
                results[name]["best_pa_f1"] = best_f1(
                    corpus, scores, adjust=True
                )
    return results, scorer_s


def _scoreboard(archive):
    """NAB's final_results.json, read from the archive."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("nab/results/final_results.json")
        return json.load(member)


def format_report(results, scorer_s, archive=ARCHIVE, command=None):
    """A markdown report: the detectors' scores beside NAB's scoreboard."""
    final = _scoreboard(archive)
    by = "NAB's scorer" if scorer_s is not None else "NAB's scorer in NumPy"
    lines = [
        f"# NAB (Numenta Anomaly Benchmark v1.1), scored by {by}",
        "",
        f"{datetime.date.today()}, {machine()}."
        + (f" `{command}`." if command else ""),
        "",
        "| detector | standard | low FP | low FN | threshold | precision "
        "| recall | F1 | detect (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        seconds = "stored" if r["detect_s"] is None else f"{r['detect_s']:.1f}"
        lines.append(
            f"| {name} | {r['standard']:.2f} | {r['reward_low_FP_rate']:.2f} "
            f"| {r['reward_low_FN_rate']:.2f} | {r['threshold']:.4g} "
            f"| {r['precision']:.3f} | {r['recall']:.4f} | {r['f1']:.4f} "
            f"| {seconds} |"
        )
    if scorer_s is None:
        scorer = (
            "Scored by `benchmarks.nab.scoring` (NAB's scorer in NumPy), "
            "not by NAB's `run.py`."
        )
    else:
        scorer = (
            f"NAB's scorer took {scorer_s:.0f} s for all of them (and null)."
        )
    lines += [
        "",
        scorer,
        "Precision, recall and F1 are point-wise, at the standard profile's "
        "threshold, over the rows after the probationary period; the rows "
        "inside NAB's labelled windows are the positives. No point "
        "adjustment: it would credit a whole window for one flagged row, "
        "which random scores achieve.",
        "",
    ]
    if any("best_pa_f1" in r for r in results.values()):
        lines += [
            "Best F1 over thresholds: point-wise, and point-adjusted (a "
            "window's rows all count as detected once one is flagged). "
            "Flagging every row gives the point-wise F1 of "
            "NAB's share of labelled rows, 0.18.",
            "",
            "| detector | best point-wise F1 | best point-adjusted F1 |",
            "|---|---|---|",
        ]
        for name, r in results.items():
            if "best_pa_f1" in r:
                lines.append(
                    f"| {name} | {r['best_f1']:.3f} | {r['best_pa_f1']:.3f} |"
                )
        lines.append("")
    lines += [
        "NAB's scoreboard (standard profile from NAB's README; the other "
        "profiles from its `results/final_results.json`):",
        "",
        "| detector | standard | low FP | low FN |",
        "|---|---|---|---|",
    ]
    for label, key, standard in SCOREBOARD:
        other = final.get(key, {}) if key else {}
        cells = [f"{other[p]:.1f}" if p in other else "—" for p in PROFILES[1:]]
        lines.append(f"| {label} | {standard:.1f} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def resolve(spec):
    """A detector from `--detectors`: a name in `baselines.DETECTORS` or
    `vae_detector.DETECTORS`, or `NAME=module:function`."""
    if "=" in spec:
        name, target = spec.split("=", 1)
        module, function = target.split(":")
        return name, getattr(importlib.import_module(module), function)
    from benchmarks.nab import baselines
    from benchmarks.nab import vae_detector

    detectors = {**baselines.DETECTORS, **vae_detector.DETECTORS}
    if spec not in detectors:
        raise ValueError(
            f"Unknown detector {spec!r}: expected one of {sorted(detectors)} "
            "or NAME=module:function"
        )
    return spec, detectors[spec]


def main():
    parser = argparse.ArgumentParser(
        prog=f"python -m {MODULE}", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--detectors",
        nargs="*",
        default=[],
        help="names in benchmarks/nab/baselines.py or vae_detector.py, "
        "or NAME=module:function",
    )
    parser.add_argument(
        "--stored",
        nargs="*",
        default=[],
        help="detectors whose results NAB's archive holds: windowedGaussian",
    )
    parser.add_argument("--archive", default=ARCHIVE)
    parser.add_argument("--nab-python", default=NAB_PYTHON)
    parser.add_argument(
        "--check-causal",
        type=int,
        default=0,
        metavar="FILES",
        help="check on this many files that no detector looks ahead",
    )
    parser.add_argument("--atol", type=float, default=1e-9)
    parser.add_argument("--point-adjusted", action="store_true")
    parser.add_argument(
        "--digits",
        type=int,
        help="significant digits of the scores written (default: all)",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="score with NAB's scorer ported to NumPy only (to tune)",
    )
    parser.add_argument("--keep", help="extract NAB here and keep it")
    parser.add_argument("--output", help="write the report here too")
    parser.add_argument("--json", help="write the numbers here as JSON")
    args = parser.parse_args()
    if not args.detectors and not args.stored:
        parser.error("nothing to score: give --detectors or --stored")

    detectors = dict(resolve(spec) for spec in args.detectors)
    start = time.perf_counter()
    results, scorer_s = evaluate(
        detectors,
        archive=args.archive,
        nab_python=args.nab_python,
        stored=args.stored,
        check_files=args.check_causal,
        atol=args.atol,
        point_adjusted=args.point_adjusted,
        digits=args.digits,
        fast=args.fast,
        keep=args.keep,
    )
    command = f"python -m {MODULE} " + " ".join(sys.argv[1:])
    report = format_report(results, scorer_s, args.archive, command)
    report += f"\nIn all {time.perf_counter() - start:.0f} s.\n"
    if args.output:
        save_report(report, args.output)
    else:
        print(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
