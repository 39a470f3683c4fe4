"""A training function that runs `steps_per_execution` steps in one XLA
program: the fast path of `VAE.fit` on one device."""

import tensorflow as tf


def make_fused_train_function(model):
    """Returns a Keras `train_function(iterator)` that fuses the steps.

    Keras's own multi-step function loops in a TensorFlow graph and pulls
    each batch from the `tf.data` iterator inside the loop, so every step
    pays for an iterator call, two `tf.cond`s and a separate XLA launch:
    on a small model that overhead is most of the step. This function
    takes up to `model.steps_per_execution` batches from the iterator
    first, stacks them, and runs all the training steps in one XLA-compiled
    `tf.while_loop`, each step `model.train_step` exactly as Keras would
    call it, in the same order on the same batches. A short last batch
    runs as its own group. It returns the logs of the last step, as Keras's
    function does.

    Only for one device (no `tf.distribute` strategy): a strategy needs the
    per-replica structure of Keras's own function.
    """

    @tf.function(jit_compile=model.jit_compile, reduce_retracing=True)
    def run_steps(batches):
        # The first step outside the loop gives the logs their structure.
        logs = model.train_step(tf.nest.map_structure(lambda t: t[0], batches))
        num_steps = tf.shape(tf.nest.flatten(batches)[0])[0]

        def step(i, logs):
            batch = tf.nest.map_structure(lambda t: t[i], batches)
            return i + 1, model.train_step(batch)

        _, logs = tf.while_loop(
            lambda i, _: i < num_steps, step, (tf.constant(1), logs)
        )
        return logs

    def train_function(iterator):
        groups = []  # Runs of consecutive batches of one size.
        for _ in range(model.steps_per_execution):
            optional = iterator.get_next_as_optional()
            if not optional.has_value():
                break
            batch = optional.get_value()
            size = tf.nest.flatten(batch)[0].shape[0]
            if groups and groups[-1][0] == size:
                groups[-1][1].append(batch)
            else:
                groups.append((size, [batch]))
        if not groups:
            raise StopIteration
        for _, batches in groups:
            logs = run_steps(
                tf.nest.map_structure(lambda *t: tf.stack(t), *batches)
            )
        return logs

    return train_function
