"""The shards of a folder's files, one per input pipeline, for
`image_folder`."""

import numpy as np


def check_shard(shard):
    """Returns `shard` as `(num_shards, index)` of ints (or `None`), or
    raises a `ValueError`."""
    if shard is None:
        return None
    try:
        num_shards, index = shard
        valid = all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool)
            for v in (num_shards, index)
        ) and (0 <= index < num_shards)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            "Invalid value for argument `shard`: expected (num_shards, "
            "index), integers with 0 <= index < num_shards. "
            f"Received: shard={shard!r}"
        )
    return (int(num_shards), int(index))


def shard_of(mask, num_shards, index):
    """`mask` with only every `num_shards`-th of its files, from the
    `index`-th on, left in."""
    shard = np.zeros_like(mask)
    shard[np.flatnonzero(mask)[index::num_shards]] = True
    return shard


def shard_seed(seed, shard):
    """The shuffle seed of a shard: `seed` itself for one shard, else one
    of its own. With a common seed, shards of one size would be shuffled
    into the same order of positions, and neighbours in the sorted list
    (often alike) would meet in every global batch."""
    if seed is None or shard is None or shard[0] == 1:
        return seed
    return int(np.random.SeedSequence([seed, *shard]).generate_state(1)[0])
