"""tf.data options shared by the package's input pipelines."""

import tensorflow as tf


def without_autotune(dataset):
    """`dataset` with tf.data's autotuner off; the elements are unchanged.

    `num_parallel_calls=tf.data.AUTOTUNE` then means a fixed parallelism (the
    number of cores), and `prefetch(tf.data.AUTOTUNE)` grows its buffer only
    when the consumer waits. On a 2-core CPU the autotuner, retuning the
    pipeline while a compiled training step runs, left the step one core for
    whole epochs (in-memory arrays: epochs alternated between about 35,000
    and 23,000 samples/s for the MNIST MLP VAE) and stalled the first batch
    of an epoch by seconds to a minute (streamed image folders; see
    docs/streaming_fit.md). Without it neither happened.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)
