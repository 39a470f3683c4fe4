"""TensorFlow graphs of the package's inference functions."""

import tensorflow as tf


def inference_function(fn):
    """`fn` as one `tf.function` graph, retraced for new shapes only where
    they differ in more than the batch size."""
    return tf.function(fn, reduce_retracing=True)
