import math

import numpy as np

from keras_vae.evaluation.log_likelihood import log_likelihood


def anomaly_scores(
    vae,
    x,
    num_samples=100,
    batch_size=None,
    max_elements=2**24,
    seed=None,
    verbose="auto",
    labels=None,
):
    """Scores how unusual each example is: its negative log-likelihood.

    The score is `-log p(x)` in nats, estimated by importance sampling with
    `keras_vae.evaluation.log_likelihood`: the higher, the less the model
    expects the example. Examples unlike the training data (another class,
    a corrupted image, an out-of-range table row) score high. With
    `num_samples=1` it is a one-sample estimate of the negative ELBO.

    `K = 100` by default, a trade-off: the estimate's variance and its bias (it
    over-estimates the NLL on average) both fall like `1 / K`, while its cost
    grows like `K`. docs/benchmarks/anomaly.md measures how closely K = 1, 10
    and 100 rank examples as K = 1000 does, and at what cost.

    A likelihood measures how well the model can encode an example, not
    only how typical it is: data simpler than the training data (a blank
    image, the thin strokes of a 1 to a model of other digits, another,
    plainer data set) can score *lower* than normal data (Nalisnick et
    al.). Check the detector on known unusual examples (with `auroc`)
    before trusting it.

    Args:
        vae: A trained `keras_vae.VAE` or `keras_vae.ConditionalVAE`.
        x: Data, an array of shape `(n,) + vae.data_shape`.
        num_samples: `K`, the number of importance samples per example.
        batch_size: Examples per chunk, as for `log_likelihood`.
        max_elements: The most decoded values held at once, as for
            `log_likelihood`.
        seed: Optional integer: the same call (the same `x` and
            arguments) gives identical scores. The draws follow the
            chunks, so an example scored in another batch gets other
            draws and a score that differs by the estimate's noise.
            Without a seed every call draws afresh.
        verbose: `"auto"`, 0, 1 or 2, as in `keras.Model.predict`.
        labels: The class of each example, for a `ConditionalVAE` only
            (which needs them): indices, one-hot rows, or one index for
            all. The score is then `-log p(x|y)`.

    Returns:
        A float64 NumPy array of shape `(n,)`: the scores, in nats per
        example. `bits_per_dim(scores, vae)` converts them to bits per
        dimension; `anomaly_threshold(validation_scores)` suggests where
        to cut.

    Example:

    ```python
    threshold = keras_vae.evaluation.anomaly_threshold(
        keras_vae.evaluation.anomaly_scores(vae, x_val, seed=0)
    )
    scores = keras_vae.evaluation.anomaly_scores(vae, x_new, seed=0)
    unusual = x_new[scores > threshold]
    ```

    Reference:
        Nalisnick, Matsukawa, Teh, Gorur and Lakshminarayanan, "Do Deep
        Generative Models Know What They Don't Know?", ICLR 2019.
    """
    return -log_likelihood(
        vae,
        x,
        num_samples=num_samples,
        batch_size=batch_size,
        max_elements=max_elements,
        seed=seed,
        verbose=verbose,
        labels=labels,
    )


def bits_per_dim(nll, vae):
    """Converts negative log-likelihoods in nats per example to bits per
    dimension: `nll / (prod(vae.data_shape) * ln 2)`.

    Args:
        nll: A number or an array of them, in nats per example (e.g. from
            `anomaly_scores`, or `-log_likelihood(...).mean()`).
        vae: The `keras_vae.VAE` that scored them; its `data_shape` gives
            the number of dimensions.

    Returns:
        A float64 NumPy array of the shape of `nll` (a 0-d array for a
        number). For discrete data (Bernoulli) it is at least 0; for
        continuous data (Gaussian) it is a density and can be negative.

    Example:

    ```python
    >>> vae = keras_vae.build_mlp_vae(input_shape=(28, 28, 1))
    >>> float(bits_per_dim(784 * math.log(2), vae))
    1.0

    ```
    """
    return np.asarray(nll, dtype="float64") / (
        math.prod(vae.data_shape) * math.log(2)
    )


def anomaly_threshold(scores, quantile=0.99):
    """Suggests a score above which an example counts as unusual: the
    `quantile` of the scores of a validation set of normal examples.

    Score held-out examples of the training distribution (not the training
    set itself, which scores lower) with `anomaly_scores`; flagging
    `scores > threshold` then flags about `1 - quantile` of normal
    examples (the false-positive rate). A quantile is only as fine as its
    sample: 0.99 needs a few hundred validation examples, 0.999 a few
    thousand. Linear interpolation between order statistics, as
    `numpy.quantile`.

    Args:
        scores: The validation scores, a 1-D array of finite numbers.
        quantile: A float in [0, 1]: the share of normal examples to
            accept.

    Returns:
        The threshold, a float, in the units of `scores`.

    Example:

    ```python
    >>> anomaly_threshold(np.arange(101.0), quantile=0.99)
    99.0

    ```
    """
    try:
        q = float(quantile)
    except (TypeError, ValueError):
        q = math.nan
    if isinstance(quantile, bool) or not 0 <= q <= 1:
        raise ValueError(
            "Invalid value for argument `quantile`: expected a float in "
            f"[0, 1]. Received: quantile={quantile!r}"
        )
    scores = _check_scores(scores, "scores")
    return float(np.quantile(scores, q))


def auroc(y_true, scores):
    """The area under the ROC curve of `scores` as a detector of
    `y_true`: the probability that an unusual example scores higher than
    a normal one, ties counting one half (the Mann-Whitney statistic).

    Exact, unlike `keras.metrics.AUC`, which bins the scores into
    thresholds. 1 separates perfectly, 0.5 is chance.

    Args:
        y_true: 1 (or `True`) for each unusual example, 0 for each normal
            one, shape `(n,)`; both kinds must be present.
        scores: The scores, shape `(n,)`, higher meaning more unusual.

    Returns:
        The AUROC, a float in [0, 1].

    Example:

    ```python
    >>> auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75

    ```
    """
    scores = _check_scores(scores, "scores")
    y_true = np.asarray(y_true)
    if y_true.shape != scores.shape or not np.all(
        (y_true == 0) | (y_true == 1)
    ):
        raise ValueError(
            "`y_true` must hold one 0 (normal) or 1 (unusual) per score, "
            f"shape {scores.shape}. Received: y_true.shape={y_true.shape}, "
            f"values {np.unique(y_true)[:5].tolist()}"
        )
    positive = y_true == 1
    num_positive = int(positive.sum())
    num_negative = len(scores) - num_positive
    if num_positive == 0 or num_negative == 0:
        raise ValueError(
            "`y_true` must hold both normal (0) and unusual (1) examples. "
            f"Received: {num_positive} unusual and {num_negative} normal"
        )
    ranks = _average_ranks(scores)
    u = ranks[positive].sum() - num_positive * (num_positive + 1) / 2
    return float(u / (num_positive * num_negative))


def _average_ranks(values):
    """1-based ranks, ties sharing the mean of their ranks."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    # Each run of equal values [first, last) gets rank (first + last + 1) / 2.
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], len(values)]
    run_ranks = (starts + ends + 1) / 2
    ranks = np.empty(len(values))
    ranks[order] = np.repeat(run_ranks, ends - starts)
    return ranks


def _check_scores(scores, name):
    array = np.asarray(scores, dtype="float64")
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)):
        raise ValueError(
            f"`{name}` must be a non-empty 1-D array of finite numbers. "
            f"Received: {name}.shape={array.shape} with "
            f"{int(np.sum(~np.isfinite(array)))} non-finite values"
        )
    return array
