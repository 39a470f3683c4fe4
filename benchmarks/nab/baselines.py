"""NumPy detectors for NAB: the scoreboard's simple ones, to check the
harness, and cheap raw scores with the post-processing of NAB's HTM
detectors, to measure what that post-processing is worth.

Every detector is `detect(timestamps, values, probation) -> scores` (see
`benchmarks.nab.harness`); `DETECTORS` names them for
`python -m benchmarks.nab.harness --detectors NAME...`:

- `gaussian`: NAB's windowed Gaussian
  (`nab/detectors/gaussian/windowedGaussian_detector.py`), the tail
  probability of each value under a Gaussian of the 6,400 values before
  it; scoreboard 39.6.
- `random`: NAB's random detector (`random.uniform(0, 1)` per row, seed
  42 per file): 16.8 in NAB's `final_results.json`; `random0`...`random4`
  other seeds (NAB's README gives 11.0, a mean over seeds).
- `linear`: the error of a linear autoregression fitted by least squares
  on the probationary rows, standardized by its residual deviation there
  (a proxy for the negative log-likelihood of the newest step that a
  sequence VAE will give), as `erf(|z| / sqrt 2)`: the probability that a
  residual is smaller, uniform on [0, 1] while the model holds.
- `linearSurprise`: the same errors as a surprise,
  `min(1, (z^2 / 2) / 12.5)`: the Gaussian negative log-likelihood of the
  newest step in nats (less its constant), 1 from |z| = 5;
  `staticSurprise...`: the same of the values standardized by the
  probationary period's mean and deviation (no model of time);
- `...Likelihood`: the raw score through Numenta's anomaly likelihood
  (`benchmarks.nab.anomaly_likelihood`), as NAB's HTM detector reports it;
- `...Spatial`: and 1 for a value more than 5% of the range seen so far
  outside it (the HTM detector's spatial anomaly);
- `...Rest`: and a rest period after each detection (CAD OSE's): a score
  at or above 0.5 (on the log-likelihood scale, a tail probability of
  1e-5, NuPIC's "red" level) silences the next probation / 5 rows.

What they score, by NAB's scorer (2026-12, AMD EPYC, 2 cores; detection
time for the 58 files; NAB's scorer takes about 20 s more per detector):

| detector                            | standard | low FP | low FN | s   |
|-------------------------------------|----------|--------|--------|-----|
| gaussian                            | 40.13    | 23.94  | 47.73  | 3.9 |
| gaussian, `--digits 12`             | 39.65    | 20.87  | 47.41  | 3.9 |
| NAB's stored windowedGaussian       | 39.65    | 20.87  | 47.41  |     |
| random (seed 42)                    | 17.66    | 7.48   | 27.57  | 0.3 |
| random0 ... random4 (mean)          | 10.20    | 1.10   | 21.20  | 0.4 |
| spatial (the spatial rule alone)    | 50.83    | 49.95  | 52.56  | 0.1 |
| gaussianLikelihood                  | 30.01    | 25.90  | 33.10  | 4.5 |
| gaussianLikelihoodSpatial           | 61.56    | 57.06  | 64.60  | 4.2 |
| gaussianLikelihoodSpatialRest       | 62.83    | 58.61  | 66.02  | 4.2 |
| linear (uniform raw)                | 0.00     | 0.00   | 0.00   | 1.2 |
| linearLikelihood                    | 26.11    | 21.46  | 29.19  | 1.4 |
| linearLikelihoodSpatial             | 59.36    | 56.04  | 62.27  | 1.4 |
| linearSurprise (surprise raw)       | 0.00     | 0.00   | 0.00   | 0.9 |
| linearSurpriseLikelihood            | 53.93    | 41.05  | 60.47  | 2.0 |
| linearSurpriseLikelihoodRest        | 57.50    | 47.99  | 62.76  | 1.4 |
| linearSurpriseLikelihoodSpatial     | 64.95    | 57.12  | 69.73  | 1.4 |
| linearSurpriseLikelihoodSpatialRest | 65.96    | 57.40  | 70.69  | 1.2 |
| staticSurpriseLikelihoodSpatial     | 63.32    | 55.50  | 68.58  | 0.7 |

What it says, for a detector whose raw score is a per-step negative
log-likelihood (a sequence VAE's):

- A raw score is worth nothing alone: NAB takes one threshold for all
  58 files, and raw errors are not on one scale from file to file (both
  raw linear scores: 0, no threshold beats detecting nothing).
- The anomaly likelihood puts them on one scale (each file against its
  own past), but only for a raw score that grows with the surprise: the
  same errors through it score 26 as a uniform probability and 54 as a
  clipped negative log-likelihood (`surprise`; with the spatial rule,
  scales of 4 to 20 nats score 63.2 to 65.5, 40 nats 60.7).
- The spatial rule alone scores 51 and adds 11 to 33 points to every
  likelihood here; a rest period after a detection adds 1 to 3.6.
- The model matters less: no model of time (`staticSurprise...`) 63.3,
  the windowed Gaussian 61.6, a linear autoregression 65.0. 92 of the
  116 windows are found by the linear one (most at the labelled point,
  the middle of its window); it misses changes of shape within the
  range (the artificial flat middle, jump down, no jump; the rogue
  agent keys) and flags 195 rows outside windows, 81 of them on the ten
  Twitter series and 35 on two machine series (machine temperature, CPU
  misconfiguration).
- Everything here was tuned on NAB itself, which has no held-out part:
  differences of a point or two are within what tuning buys.

    .venv/bin/python -m benchmarks.nab.harness --stored windowedGaussian \\
        --detectors gaussian random random0 random1 random2 random3 \\
        random4 spatial gaussianLikelihood gaussianLikelihoodSpatial \\
        gaussianLikelihoodSpatialRest linear linearLikelihood \\
        linearLikelihoodSpatial linearSurprise linearSurpriseLikelihood \\
        linearSurpriseLikelihoodRest linearSurpriseLikelihoodSpatial \\
        linearSurpriseLikelihoodSpatialRest \\
        staticSurpriseLikelihoodSpatial --check-causal 6 --point-adjusted
"""

import functools
import math
import random as python_random

import numpy as np

from benchmarks.nab.anomaly_likelihood import anomaly_likelihood
from benchmarks.nab.anomaly_likelihood import spatial_anomaly

_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_tail(z):
    """Q(z) = P(N(0, 1) > z), with `math.erfc` as NAB computes it."""
    return 0.5 * _erfc(np.asarray(z, dtype="float64") / math.sqrt(2)).astype(
        "float64"
    )


def random(timestamps, values, probation, seed=42):
    """NAB's random detector: `random.uniform(0, 1)` per row, the
    generator seeded with `seed` for each file."""
    generator = python_random.Random(seed)
    return np.array([generator.uniform(0, 1) for _ in range(len(values))])


def gaussian(timestamps, values, probation, window=6400, step=100):
    """NAB's windowed Gaussian: `1 - Q(|x - mean| / std)` (Q the Gaussian
    tail) of each value under the mean and deviation of the values before
    it, the first `window` of them, then a window of `window` values slid
    by `step` rows at a time; 0 for the first row."""
    values = np.asarray(values, dtype="float64")
    n = len(values)
    mean, std = np.zeros(n), np.ones(n)
    # Growing: the statistics of values[:t] score row t.
    for t in range(1, min(n, window + 1)):
        mean[t], std[t] = np.mean(values[:t]), np.std(values[:t])
    # Sliding: rows window + k * step ... score with values[k * step:][:window].
    for begin in range(window, n, step):
        k = (begin - window) // step
        past = values[k * step : k * step + window]
        mean[begin : begin + step] = np.mean(past)
        std[begin : begin + step] = np.std(past)
    std[std == 0.0] = 0.000001
    scores = 1.0 - normal_tail(np.abs(values - mean) / std)
    scores[0] = 0.0
    return scores


def linear_errors(values, probation, lags=None, ridge=1e-3):
    """Standardized one-step errors of a linear autoregression on the last
    `lags` values (default: probation // 8, at most 48), fitted by ridge
    least squares on the probationary rows (standardized by their mean and
    deviation) and frozen: z_t = (x_t - predicted x_t) / (the residuals'
    deviation on the probationary rows). 0 for the first `lags` rows.
    Causal."""
    values = np.asarray(values, dtype="float64")
    lags = lags or max(1, min(48, probation // 8))
    scale = np.std(values[:probation]) or 1.0
    x = (values - np.mean(values[:probation])) / scale
    # Row t's inputs: x[t - lags : t] and 1.
    windows = np.lib.stride_tricks.sliding_window_view(x[:-1], lags)
    inputs = np.concatenate([windows, np.ones((len(windows), 1))], axis=1)
    targets = x[lags:]
    train = probation - lags
    a = inputs[:train]
    weights = np.linalg.solve(
        a.T @ a + ridge * train * np.eye(lags + 1), a.T @ targets[:train]
    )
    errors = targets - inputs @ weights
    sigma = np.std(errors[:train]) or 1.0
    return np.concatenate([np.zeros(lags), errors / sigma])


def linear(timestamps, values, probation):
    """`erf(|z| / sqrt 2)` of `linear_errors`: uniform on [0, 1] while the
    linear model holds."""
    z = linear_errors(values, probation)
    return 1.0 - 2.0 * normal_tail(np.abs(z))


def surprise(z, scale=12.5):
    """`min(1, z^2 / 2 / scale)`: the negative log-likelihood of a
    standardized error under N(0, 1) (less its constant), in nats, over
    `scale`: 1 from |z| = 5."""
    return np.minimum(1.0, 0.5 * np.square(z) / scale)


def linear_surprise(timestamps, values, probation):
    """`surprise` of `linear_errors`."""
    return surprise(linear_errors(values, probation))


def static_surprise(timestamps, values, probation):
    """`surprise` of each value standardized by the probationary values'
    mean and deviation: no model of time at all."""
    past = values[:probation]
    return surprise((values - np.mean(past)) / (np.std(past) or 1.0))


def with_likelihood(detect):
    """`detect`'s scores through Numenta's anomaly likelihood."""

    @functools.wraps(detect)
    def likelihood(timestamps, values, probation):
        raw = detect(timestamps, values, probation)
        return anomaly_likelihood(raw, values, probation)

    return likelihood


def with_spatial(detect, tolerance=0.05):
    """`detect`'s scores, and 1 for NAB's HTM detector's spatial
    anomalies."""

    @functools.wraps(detect)
    def detect_spatial(timestamps, values, probation):
        scores = detect(timestamps, values, probation)
        return np.where(spatial_anomaly(values, tolerance), 1.0, scores)

    return detect_spatial


def with_rest(detect, threshold=0.5, fraction=0.2):
    """`detect`'s scores, set to 0 for the `fraction` x probation rows
    after each score at or above `threshold` (CAD OSE's rest period: NAB
    rewards the first detection of a window only and charges every other
    one)."""

    @functools.wraps(detect)
    def rest(timestamps, values, probation):
        scores = np.array(detect(timestamps, values, probation))
        period = int(fraction * probation)
        quiet_until = -1
        for t in range(probation, len(scores)):
            if t <= quiet_until:
                scores[t] = 0.0
            elif scores[t] >= threshold:
                quiet_until = t + period
        return scores

    return rest


def spatial(timestamps, values, probation):
    """1 for NAB's HTM detector's spatial anomalies, else 0."""
    return spatial_anomaly(values).astype("float64")


DETECTORS = {
    "gaussian": gaussian,
    "spatial": spatial,
    "random": random,
    **{
        f"random{seed}": functools.partial(random, seed=seed)
        for seed in range(5)
    },
    "gaussianLikelihood": with_likelihood(gaussian),
    "gaussianLikelihoodSpatial": with_spatial(with_likelihood(gaussian)),
    "gaussianLikelihoodSpatialRest": with_rest(
        with_spatial(with_likelihood(gaussian))
    ),
    "linear": linear,
    "linearLikelihood": with_likelihood(linear),
    "linearLikelihoodSpatial": with_spatial(with_likelihood(linear)),
    "linearSurprise": linear_surprise,
    "linearSurpriseLikelihood": with_likelihood(linear_surprise),
    "linearSurpriseLikelihoodRest": with_rest(with_likelihood(linear_surprise)),
    "linearSurpriseLikelihoodSpatial": with_spatial(
        with_likelihood(linear_surprise)
    ),
    "linearSurpriseLikelihoodSpatialRest": with_rest(
        with_spatial(with_likelihood(linear_surprise))
    ),
    "staticSurpriseLikelihoodSpatial": with_spatial(
        with_likelihood(static_surprise)
    ),
}
