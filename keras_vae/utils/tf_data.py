"""tf.data options shared by the package's input pipelines."""

import tensorflow as tf


def without_autotune(dataset):
    """`dataset` with tf.data's autotuner off; the elements are unchanged.

    `num_parallel_calls=tf.data.AUTOTUNE` then means a fixed parallelism (the
    number of cores), and `prefetch(tf.data.AUTOTUNE)` grows its buffer only
    when the consumer waits. On a small CPU the autotuner, retuning the
    pipeline while a compiled training step runs, can leave the step one
    core for whole epochs and stall the first batch of an epoch (measured
    in docs/benchmarks/performance.md and docs/benchmarks/streaming_fit.md).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
