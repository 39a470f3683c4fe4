"""Numenta's anomaly likelihood, in NumPy: how unusual a raw anomaly score's
recent average is, as NAB's HTM detectors report it.

A raw anomaly score (for HTM, the share of the input that was not
predicted) is noisy: a model of a noisy series is often surprised. The
anomaly likelihood asks instead whether the model is surprised more than
it usually is: it averages the raw score over the last 10 rows, fits a
Gaussian to those averages over a long past (the last 8,640 rows,
re-estimated every 100 rows), and reports the tail probability of the
current average under it, on a log scale where 1 is a tail probability of
1e-10. A run of tail probabilities below 1e-5 is reported once: the rows
after its first are lowered to 1e-3.

This follows, step by step, `AnomalyLikelihood.anomalyProbability` and
the functions it calls (`estimateAnomalyLikelihoods`,
`updateAnomalyLikelihoods`, `_filterLikelihoods`, `estimateNormal`,
`tailProbability`, `computeLogLikelihood`) in Numenta's NuPIC,
`src/nupic/algorithms/anomaly_likelihood.py` (numenta/nupic-legacy;
htm.core carries the same code), with the parameters NAB's
`nab/detectors/numenta/numenta_detector.py` gives it: a learning period of
half the probationary period, the other half to estimate, so that the
score is a flat 0.5 (0.03 on the log scale) through the probationary
period. It is written anew (a loop per re-estimation, not per row), not
copied. Its one departure: the moving average is a cumulative sum, not a
running total, which differs in the last bits: against a line-by-line
transcription of NuPIC's class, on NAB files and raw scores of
`benchmarks.nab.baselines`, the scores agree to 1e-12.

NAB's HTM detector also reports a "spatial anomaly": a value more than 5%
of the range seen so far outside that range scores 1 whatever the
likelihood (`spatial_anomaly`).
"""

import math

import numpy as np

#: `computeLogLikelihood`: log(1.0000000001 - likelihood) / log(1e-10).
LOG_SCALE = -23.02585084720009

#: `_filterLikelihoods`: tail probabilities at or below RED after one
#: that was, are raised to YELLOW.
RED = 1.0 - 0.99999
YELLOW = 1.0 - 0.999

_erfc = np.frompyfunc(math.erfc, 1, 1)


def tail_probability(x, mean, stdev):
    """The probability of a normal sample further from `mean` than `x`
    on the same side (`tailProbability`; its 1.4142 for the root of 2)."""
    z = np.abs(np.asarray(x, dtype="float64") - mean) / stdev
    return 0.5 * _erfc(z / 1.4142).astype("float64")


def moving_average(scores, window):
    """The mean of the last `window` scores at each row (of fewer at the
    start), as `_anomalyScoreMovingAverage` computes it."""
    total = np.concatenate([[0.0], np.cumsum(scores, dtype="float64")])
    end = np.arange(1, len(scores) + 1)
    begin = np.maximum(0, end - window)
    return (total[end] - total[begin]) / (end - begin)


def estimate_normal(averages, values):
    """`estimateAnomalyLikelihoods`' distribution: `(mean, stdev)` of the
    averaged scores, with NuPIC's lower bounds (mean 0.03, variance
    0.0003), or its null distribution (0.5, 1000: nothing is unusual) when
    there are none or the series' `values` are flat (variance < 1.5e-5)."""
    if len(averages) == 0 or np.var(values) < 1.5e-5:
        return 0.5, 1e3
    mean = max(float(np.mean(averages)), 0.03)
    return mean, math.sqrt(max(float(np.var(averages)), 0.0003))


def anomaly_likelihood(
    raw_scores,
    values,
    probation,
    averaging_window=10,
    historic_window=8640,
    reestimation_period=100,
    log_scale=True,
):
    """The anomaly likelihood of each row of a stream of raw scores.

    Args:
        raw_scores: One raw anomaly score per row, causal, in [0, 1] (the
            lower bounds of the fitted Gaussian assume that range).
        values: The series itself (for the flat-series check).
        probation: NAB's probationary period: half of it is the learning
            period (skipped when estimating), half the estimation samples.
        averaging_window: Rows averaged.
        historic_window: Rows kept to estimate the Gaussian.
        reestimation_period: Rows between estimates.
        log_scale: Report `computeLogLikelihood` of the likelihood (as
            NAB's HTM detector does) rather than the likelihood.

    Returns:
        float64, one per row, in [0, 1]: causal.
    """
    if probation < 2:
        raise ValueError(
            "Invalid value for argument `probation`: expected an int >= 2. "
            f"Received: probation={probation}"
        )
    raw_scores = np.asarray(raw_scores, dtype="float64")
    values = np.asarray(values, dtype="float64")
    n = len(raw_scores)
    # NAB's HTM detector: learningPeriod = floor(probation / 2),
    # estimationSamples = the rest; NuPIC's probationary period is their sum.
    learning = probation // 2
    start = probation
    likelihood = np.full(n, 0.5)
    averages = moving_average(raw_scores, averaging_window)
    # The rows at which the Gaussian is (re-)estimated, from the rows
    # before them: the first scored row, then every multiple of the period.
    first = -(-start // reestimation_period) * reestimation_period
    estimates = [start] + [
        t for t in range(first, n, reestimation_period) if t > start
    ]
    for i, t in enumerate(estimates):
        if t >= n:
            break
        end = estimates[i + 1] if i + 1 < len(estimates) else n
        history = slice(max(0, t - historic_window), t)
        shifted_out = max(0, t - historic_window)
        skip = min(t, max(0, learning - shifted_out))
        # Averages restart at the start of the history, as NuPIC's do.
        past = moving_average(raw_scores[history], averaging_window)[skip:]
        mean, stdev = estimate_normal(past, values[history][skip:])
        tail = tail_probability(averages[t:end], mean, stdev)
        # The previous row's tail probability under the same Gaussian.
        previous = tail_probability(averages[t - 1 : end - 1], mean, stdev)
        tail = np.where((tail <= RED) & (previous <= RED), YELLOW, tail)
        likelihood[t:end] = 1.0 - tail
    if not log_scale:
        return likelihood
    scores = np.log(1.0000000001 - likelihood) / LOG_SCALE
    return np.clip(scores, 0.0, 1.0)


def spatial_anomaly(values, tolerance=0.05):
    """True where a value lies more than `tolerance` of the range of the
    values before it outside that range (NAB's HTM detector,
    `SPATIAL_TOLERANCE`); causal. False while that range is a point."""
    values = np.asarray(values, dtype="float64")
    outside = np.zeros(len(values), dtype=bool)
    # The range of the rows before rows 1, 2, ...
    low = np.minimum.accumulate(values)[:-1]
    high = np.maximum.accumulate(values)[:-1]
    margin = (high - low) * tolerance
    value = values[1:]
    outside[1:] = (high > low) & (
        (value > high + margin) | (value < low - margin)
    )
    return outside
