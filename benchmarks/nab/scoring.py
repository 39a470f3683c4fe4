"""NAB's scorer in NumPy: the same numbers as NAB's `run.py` in a fraction of
a second, to tune a detector (NAB's own scorer takes about 20 s a
detector). Reports quote NAB's scorer; `benchmarks.nab.harness` runs both
and says if they disagree.

NAB (`nab/sweeper.py`, `nab/optimizer.py`, `nab/runner.py`) scores a
detection (a row whose score reaches the threshold) after the
probationary period

- inside a labelled window: `scaled_sigmoid(position)`, where position
  runs from -1 at the window's first row to 0 past its last (0.987 at
  its start, 0.848 in its middle, ~0 at its end), divided by its value at
  -1 and weighted by the profile's `tpWeight`; only the best detection of
  each window counts;
- outside: `scaled_sigmoid(distance past the last window / its width)`
  (from 0 right after a window towards -1), or -1 before any window,
  weighted by `fpWeight`;
- and each window with no detection: `-fnWeight`.

The optimizer sums these over the corpus for every threshold (each
distinct score) and keeps the best, the highest threshold among equals;
normalization maps the null detector's score (no detection: `-fnWeight`
per window) to 0 and a perfect one (`tpWeight` per window) to 100.
"""

import numpy as np

#: NAB's `config/profiles.json`: (tpWeight, fnWeight, fpWeight).
PROFILES = {
    "standard": (1.0, 1.0, 0.11),
    "reward_low_FP_rate": (1.0, 1.0, 0.22),
    "reward_low_FN_rate": (1.0, 2.0, 0.11),
}


def scaled_sigmoid(position):
    """`nab/sweeper.py: scaledSigmoid`: 2 sigmoid(-5 x) - 1, and -1 past 3."""
    position = np.asarray(position, dtype="float64")
    with np.errstate(over="ignore"):
        value = 2.0 / (1.0 + np.exp(5.0 * position)) - 1.0
    return np.where(position > 3.0, -1.0, value)


def sweep(series):
    """Each row's window (its index, -1 outside) and unweighted score if
    it were a detection, as `Sweeper.calcSweepScore` computes them."""
    n = len(series.values)
    window = np.full(n, -1)
    unweighted = np.full(n, -1.0)
    rows = np.arange(n)
    bounds = []
    for first, last in series.windows:
        left, right = np.searchsorted(series.timestamps, [first, last])
        if right >= n or series.timestamps[left] != first:
            raise ValueError(f"{series.name}: a window edge is not a row")
        if series.timestamps[right] != last:
            raise ValueError(f"{series.name}: a window edge is not a row")
        bounds.append((int(left), int(right)))
    for k, (left, right) in enumerate(bounds):
        width = right - left + 1
        window[left : right + 1] = k
        inside = rows[left : right + 1]
        unweighted[left : right + 1] = scaled_sigmoid(
            -(right - inside + 1) / width
        )
        end = bounds[k + 1][0] if k + 1 < len(bounds) else n
        after = rows[right + 1 : end]
        unweighted[right + 1 : end] = scaled_sigmoid(
            np.abs(right - after) / (width - 1)
        )
    return window, unweighted


def score_corpus(corpus, scores, profiles=PROFILES):
    """NAB's optimized and normalized score of `scores` (one array per
    series of `corpus`) for each profile.

    Returns:
        `{profile: score}`, with `"threshold"` (the standard profile's)
        and its point-wise counts `"tp"`, `"fp"`, `"fn"`, `"tn"`.
    """
    parts, offset = [], 0
    for series, s in zip(corpus, scores):
        window, unweighted = sweep(series)
        scored = slice(series.probation, None)
        window = window[scored]
        parts.append(
            (
                np.asarray(s, dtype="float64")[scored],
                np.where(window >= 0, window + offset, -1),
                unweighted[scored],
            )
        )
        offset += len(series.windows)
    score, window, unweighted = (np.concatenate(p) for p in zip(*parts))
    scorable = len(np.unique(window[window >= 0]))
    order = np.argsort(-score, kind="stable")
    score, window, unweighted = score[order], window[order], unweighted[order]
    # The last row of each run of equal scores: a threshold.
    last = np.flatnonzero(np.append(score[1:] != score[:-1], True))
    thresholds = np.concatenate([[1.1], score[last]])
    inside = np.flatnonzero(window >= 0)
    max_tp = float(scaled_sigmoid(-1.0))
    results = {}
    for name, (tp_weight, fn_weight, fp_weight) in profiles.items():
        # What each detection adds to the total as the threshold falls:
        # its FP weight outside windows; inside, how much it raises its
        # window's best so far (from -fnWeight).
        gain = np.where(window < 0, unweighted * fp_weight, 0.0)
        best = np.full(offset, -fn_weight)
        for i, value in zip(inside, unweighted[inside] * tp_weight / max_tp):
            if value > best[window[i]]:
                gain[i] = value - best[window[i]]
                best[window[i]] = value
        totals = -fn_weight * scorable + np.concatenate(
            [[0.0], np.cumsum(gain)[last]]
        )
        k = int(np.argmax(totals))
        null = -fn_weight * scorable
        perfect = offset * tp_weight
        results[name] = 100 * (totals[k] - null) / (perfect - null)
        if name == "standard":
            threshold = float(thresholds[k])
    flagged = score >= threshold
    positive = window >= 0
    results.update(
        threshold=threshold,
        tp=int(np.sum(flagged & positive)),
        fp=int(np.sum(flagged & ~positive)),
        fn=int(np.sum(~flagged & positive)),
        tn=int(np.sum(~flagged & ~positive)),
    )
    return results
