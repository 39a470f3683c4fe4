"""`tf.distribute` replicas: their noise, their share of the batch and the
global means of their metrics."""

import keras
import tensorflow as tf
from keras import ops


def has_strategy():
    """Whether a `tf.distribute` strategy is in use now."""
    return tf.distribute.has_strategy()


def replica_normal(shape, dtype, seed_generator):
    """`keras.random.normal(shape, dtype=dtype, seed=seed_generator)`, but
    different on every replica of a `tf.distribute` strategy.

    Replicas hold mirrored copies of the generator's state, so the plain
    draw would give every replica the same noise. With more than one
    replica in sync, the replica id (global across workers) is folded into
    the drawn seed; on one device the draw is exactly the plain one.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return keras.random.normal(shape, dtype=dtype, seed=seed_generator)
    dtype = dtype or keras.config.floatx()
    seed = tf.cast(seed_generator.next() % (2**31 - 1), "int32")
    seed = tf.random.experimental.stateless_fold_in(
        seed, context.replica_id_in_sync_group
    )
    return tf.random.stateless_normal(shape, seed=seed, dtype=dtype)


def replica_share(x):
    """This replica's fraction of the global batch: 1 on one device, and
    exact under a `tf.distribute` strategy even when a short last batch
    splits unevenly (dividing by `num_replicas_in_sync` is not)."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return 1.0
    batch_size = ops.cast(ops.shape(x)[0], "float32")
    return batch_size / context.all_reduce("sum", batch_size)


def metric_results(metrics):
    """`{name: result}` of `Mean` metrics. Under a `tf.distribute` strategy
    a replica holds only its own totals: the results are those of the sums
    over all replicas, the exact global means."""
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return {m.name: m.result() for m in metrics}
    sums = context.all_reduce(
        "sum", ops.stack([[m.total.value, m.count.value] for m in metrics])
    )
    # Keras reduces multi-worker logs with `reduce("MEAN", v, axis=0)`,
    # which fails on scalars (tensorflow/tensorflow#72388): give it
    # vectors of one (every replica holds the same value).
    strategy = tf.distribute.get_strategy()
    index = slice(None) if _in_multi_worker_mode(strategy) else 0
    return {
        m.name: ops.divide_no_nan(sums[i : i + 1, 0], sums[i : i + 1, 1])[index]
        for i, m in enumerate(metrics)
    }


def _in_multi_worker_mode(strategy):
    # No public way to ask whether a strategy spans several workers.
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )
