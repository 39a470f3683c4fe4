import weakref

import keras
import numpy as np
from keras import ops

from keras_vae import backend
from keras_vae.evaluation.fixed_noise import fixed_noise_scores
from keras_vae.evaluation.fixed_noise import score_noise
from keras_vae.utils.argument_checks import check_positive_int

#: The compiled scorer of each model, made once (see `_scorer`).
_COMPILED = weakref.WeakKeyDictionary()


def point_scores(
    vae,
    series,
    window=None,
    stride=1,
    num_samples=16,
    seed=0,
    batch_size=256,
    verbose="auto",
):
    """One anomaly score per time step of a series, from a VAE of windows.

    The score of step `t` is the negative log-likelihood of the window
    that ends there, `-log p(x[t - window + 1], ..., x[t])` in nats,
    estimated by importance sampling with `num_samples` noise draws fixed
    by `seed`: exactly the `score` that the SavedModel of
    `export_saved_model(vae, score_samples=num_samples, score_seed=seed)`
    returns for that window, so scores computed here and scores served
    online agree. It is causal: a step's score uses no data after it. The
    first `window - 1` steps, which end no window, take the first
    window's score. With `stride > 1` only every `stride`-th window is
    scored, and each step takes the score of the latest window that ends
    at or before it (still causal, `stride` times cheaper).

    An anomalous step raises the score of every window that holds it, so
    a score stays high for up to `window - 1` steps after an isolated
    anomaly. To flag steps, fit a threshold on a stretch known to be
    normal, such as the first part of a log the model was trained on:
    `anomaly_threshold(point_scores(vae, normal), quantile=0.999)` flags
    about 0.1 % of the normal steps (the false-alarm rate; held-out normal
    data flags somewhat more than the training stretch does).

    Args:
        vae: A trained `keras_vae.VAE` of windows, `vae.data_shape ==
            (window, channels)` (`keras_vae.build_sequence_vae`).
        series: The series, `(steps, channels)` or `(steps,)` for one
            channel, in the units the model takes (its own sensor units
            with a `Normalization` preprocessing), finite.
        window: The window length; `None` (the default) is the model's,
            and any other value must equal it.
        stride: Score every `stride`-th window, an integer >= 1.
        num_samples: `K`, the importance samples per window.
        seed: The integer seed of the fixed noise (`score_noise`).
        batch_size: Windows scored at once.
        verbose: `"auto"` or 1 (a progress bar), or 0.

    Returns:
        A float64 NumPy array of shape `(steps,)`: the score of each step.

    Example:

    ```python
    scores = keras_vae.evaluation.point_scores(vae, series)
    threshold = keras_vae.evaluation.anomaly_threshold(
        scores[:1000], quantile=0.999
    )  # the first 1000 steps are known to be normal
    alarms = np.flatnonzero(scores > threshold)
    ```
    """
    shape = tuple(vae.data_shape)
    if len(shape) != 2:
        raise ValueError(
            "`point_scores` needs a model of windows of a time series, "
            "`data_shape == (window, channels)` (`build_sequence_vae`). "
            f"Received: a model of data_shape={shape}"
        )
    model_window, channels = shape
    if window is None:
        window = model_window
    if window != model_window:
        raise ValueError(
            f"The model takes windows of {model_window} steps. Received: "
            f"window={window!r}"
        )
    stride = check_positive_int(stride, "stride")
    batch_size = check_positive_int(batch_size, "batch_size")
    if verbose == "auto":
        verbose = 1
    if verbose not in (0, 1) or isinstance(verbose, bool):
        raise ValueError(
            'Invalid value for argument `verbose`: expected "auto", 0 or 1. '
            f"Received: verbose={verbose!r}"
        )
    series = _check_series(series, window, channels)
    views = np.lib.stride_tricks.sliding_window_view(series, window, axis=0)
    starts = np.arange(0, len(views), stride)
    scorer = _scorer(vae, num_samples, seed)
    progress = keras.utils.Progbar(
        len(starts), verbose=verbose, unit_name="window"
    )
    window_scores = np.empty(len(starts))
    for first in range(0, len(starts), batch_size):
        chunk = starts[first : first + batch_size]
        # (n, channels, window) views -> (n, window, channels) windows.
        x = np.ascontiguousarray(views[chunk].transpose(0, 2, 1))
        window_scores[first : first + len(chunk)] = ops.convert_to_numpy(
            scorer(x)
        )
        progress.update(first + len(chunk))
    steps = np.arange(len(series))
    latest = np.maximum(steps - (window - 1), 0) // stride
    return window_scores[latest]


def _check_series(series, window, channels):
    """`series` as float32 `(steps, channels)`, or a clear error."""
    series = np.asarray(series)
    if not (
        np.issubdtype(series.dtype, np.number)
        or np.issubdtype(series.dtype, np.bool_)
    ):
        raise ValueError(
            f"`series` must hold numbers. Received: series.dtype={series.dtype}"
        )
    if series.ndim == 1:
        series = series[:, None]
    if series.ndim != 2 or series.shape[1] != channels:
        raise ValueError(
            f"`series` must be (steps, {channels}): the model takes "
            f"{channels} channel(s). Received: series.shape={series.shape}"
        )
    if len(series) < window:
        raise ValueError(
            f"The series has {len(series)} steps, fewer than one window of "
            f"{window}. Received: series.shape={series.shape}"
        )
    series = series.astype("float32")
    bad = np.argwhere(~np.isfinite(series))
    if len(bad):
        step, channel = bad[0]
        raise ValueError(
            f"The series holds a value that is not finite at step {step}, "
            f"channel {channel}: {series[step, channel]}. Fill or drop it "
            "(e.g. `keras_vae.datasets.load_csv(..., fill='forward')`)."
        )
    return series


def _scorer(vae, num_samples, seed):
    """A compiled `x -> scores` of `fixed_noise_scores` with the noise of
    `score_noise(vae.latent_shape, num_samples, seed)`, made once per
    model, `num_samples` and `seed`."""
    compiled = _COMPILED.setdefault(vae, {})
    if (num_samples, seed) not in compiled:
        vae_ref = weakref.ref(vae)
        epsilon = score_noise(vae.latent_shape, num_samples, seed)

        def scores(x):
            return fixed_noise_scores(vae_ref(), x, epsilon)

        compiled[num_samples, seed] = backend.inference_function(scores)
    return compiled[num_samples, seed]
