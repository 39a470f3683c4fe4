"""The train/validation split every loader of a user's data shares."""

import hashlib

import numpy as np


def check_validation_split(validation_split):
    """Returns `validation_split` as a float in (0, 1), or `None`."""
    if validation_split is None:
        return None
    if isinstance(validation_split, bool) or not (
        isinstance(validation_split, (int, float, np.number))
        and 0 < validation_split < 1
    ):
        raise ValueError(
            "Invalid value for argument `validation_split`: expected a "
            "fraction in (0, 1) or None. "
            f"Received: validation_split={validation_split!r}"
        )
    return float(validation_split)


def check_seed(seed):
    """Returns `seed` as an `int` >= 0, or `None`."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        valid = False
    else:
        valid = 0 <= seed < 2**32
    if not valid:
        raise ValueError(
            "Invalid value for argument `seed`: expected an integer in "
            f"[0, 2**32) or None. Received: seed={seed!r}"
        )
    return int(seed)


def validation_mask(keys, validation_split, seed, what="examples"):
    """A boolean mask of the examples that go to validation.

    Each example is ranked by a hash of `(seed, key)` and the
    `floor(validation_split * n)` lowest go to validation. The split depends
    only on the keys and the seed (`None` counts as 0): not on their order,
    on shuffling, or on anything random. Adding one example moves at most
    one other between the two subsets.

    Args:
        keys: One string per example (a relative file path, a row number).
        validation_split: A fraction in (0, 1).
        seed: An integer, or `None` for 0.
        what: What the keys name, for the error message.
    """
    # Rounded first, so that 0.29 * 100 = 28.999999999999996 counts 29.
    count = int(round(validation_split * len(keys), 6))
    if not 0 < count < len(keys):
        empty = "validation" if count == 0 else "training"
        raise ValueError(
            f"Invalid value for argument `validation_split`: of {len(keys)} "
            f"{what} it leaves none for {empty} (floor({validation_split} * "
            f"{len(keys)}) = {count} for validation). "
            f"Received: validation_split={validation_split}"
        )
    prefix = f"{0 if seed is None else seed}/".encode()
    ranks = np.array(
        [
            int.from_bytes(
                hashlib.blake2b(prefix + key.encode(), digest_size=8).digest(),
                "big",
            )
            for key in keys
        ],
        dtype="uint64",
    )
    mask = np.zeros(len(keys), dtype=bool)
    # Stable, so equal hashes (never seen in practice) keep their order.
    mask[np.argsort(ranks, kind="stable")[:count]] = True
    return mask
