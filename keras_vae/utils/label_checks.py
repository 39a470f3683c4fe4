"""Checks of the labels given with the data: none to an unconditional VAE,
class labels to a conditional one."""

import numpy as np


def check_labels_absent(y, name="y"):
    if y is not None:
        raise ValueError(
            "This VAE is unconditional: it learns from `x` alone, so labels "
            f"would be silently ignored. Pass only `x` (e.g. `fit(x)`), or "
            f"drop the labels from your dataset. Received: {name} of type "
            f"{type(y).__name__}"
        )


def check_class_labels(y, num_classes, num_examples, name="labels"):
    """Validates class labels: integers in `[0, num_classes)` of shape `(n,)`
    or one-hot rows of shape `(n, num_classes)`; returns them one-hot, as
    float32.

    Args:
        y: The labels.
        num_classes: The number of classes of the conditional model.
        num_examples: The number of examples the labels go with.
        name: The argument name used in error messages.
    """
    if y is None:
        raise ValueError(
            f"This conditional VAE needs `{name}`: pass them with the data, "
            f"e.g. `fit(x, y)` or `sample(16, labels=3)`. Received: {name}=None"
        )
    labels = np.asarray(y)
    if labels.ndim == 2 and labels.shape[1] == num_classes:
        rows_ok = np.all((labels == 0) | (labels == 1)) and np.all(
            labels.sum(axis=1) == 1
        )
        if not rows_ok:
            raise ValueError(
                f"One-hot `{name}` must hold a single 1 per row. "
                f"Received: {name} with rows summing to "
                f"{sorted(set(labels.sum(axis=1).tolist()))[:5]}"
            )
        one_hot = labels.astype("float32")
    elif labels.ndim == 1 and (
        np.issubdtype(labels.dtype, np.integer) or labels.size == 0
    ):
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"`{name}` must be class indices in [0, {num_classes}). "
                f"Received: {name} in [{labels.min()}, {labels.max()}]"
            )
        one_hot = np.eye(num_classes, dtype="float32")[labels.astype(int)]
    else:
        raise ValueError(
            f"`{name}` must be integer class indices of shape (n,) or "
            f"one-hot rows of shape (n, {num_classes}). "
            f"Received: {name}.shape={labels.shape}, dtype={labels.dtype}"
        )
    if len(one_hot) != num_examples:
        raise ValueError(
            f"`{name}` must have one label per example ({num_examples}). "
            f"Received: {len(one_hot)} labels"
        )
    return one_hot
