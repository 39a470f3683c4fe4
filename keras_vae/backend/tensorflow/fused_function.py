"""A function that runs `steps_per_execution` steps in one XLA program:
the fast path of `VAE.fit` and `VAE.evaluate` on one device."""

import tensorflow as tf


class FusedFunction:
    """A Keras `train_function`/`test_function` that fuses the steps.

    Keras's own multi-step function loops in a TensorFlow graph and pulls
    each batch from the `tf.data` iterator inside the loop, so every step
    pays for an iterator call, two `tf.cond`s and a separate XLA launch:
    on a small model that overhead is most of the step. This function
    takes up to `model.steps_per_execution` batches from the iterator
    first, in one graph call that stacks them, and runs all the steps in
    one XLA-compiled `tf.while_loop`, each `step_function(batch)` exactly
    as Keras would call it, in the same order on the same batches. A batch
    of another size (the short last batch of an epoch) ends the stack and
    runs as its own group. It returns the logs of the last step, as
    Keras's function does, and keeps in `steps_run` how many steps its
    last call ran (the progress bar counts them).

    An iterator that is not a `tf.data` one (`train_on_batch` passes a
    Python generator) goes to `fallback`, Keras's own function.

    Only for one device (no `tf.distribute` strategy): a strategy needs the
    per-replica structure of Keras's own function.

    Args:
        model: The `keras.Model` whose `steps_per_execution` and
            `jit_compile` apply.
        step_function: `model.train_step` or `model.test_step`.
        fallback: Keras's function for the same step.
    """

    def __init__(self, model, step_function, fallback):
        self.steps = model.steps_per_execution
        self.jit_compile = model.jit_compile
        self.step_function = step_function
        self.fallback = fallback
        self.steps_run = None
        self._graphs = {}  # (stack, run_steps) per iterator structure.

    def _make_run_steps(self, input_signature=None):
        step_function = self.step_function

        # With the signature of stacks of any length and batch size, one
        # graph serves every group, and XLA compiles once per group shape.
        @tf.function(
            jit_compile=self.jit_compile,
            reduce_retracing=True,
            input_signature=input_signature,
        )
        def run_steps(batches):
            # The first step outside the loop gives the logs their structure.
            first = tf.nest.map_structure(lambda t: t[0], batches)
            logs = step_function(first)
            num_steps = tf.shape(tf.nest.flatten(batches)[0])[0]

            def step(i, logs):
                batch = tf.nest.map_structure(lambda t: t[i], batches)
                return i + 1, step_function(batch)

            _, logs = tf.while_loop(
                lambda i, _: i < num_steps, step, (tf.constant(1), logs)
            )
            return logs

        return run_steps

    def __call__(self, iterator):
        self.steps_run = None
        if not isinstance(iterator, tf.data.Iterator):
            return self.fallback(iterator)
        spec = iterator.element_spec
        key = repr(spec)
        if key not in self._graphs:
            if all(map(_stackable, tf.nest.flatten(spec))):
                stacks = tf.nest.map_structure(
                    lambda s: tf.TensorSpec(
                        [None, None] + s.shape[1:], s.dtype
                    ),
                    spec,
                )
                self._graphs[key] = (
                    _make_stacker(spec, self.steps),
                    self._make_run_steps([stacks]),
                )
            else:
                # Ragged or sparse batches, or batches of unknown shape,
                # cannot be stacked in a graph: pulled one by one, in Python.
                self._graphs[key] = (None, self._make_run_steps())
        stack, run_steps = self._graphs[key]
        if stack is None:
            logs, self.steps_run = _run_groups(
                run_steps, [], iterator, self.steps
            )
            return logs
        stacked, count, other, has_other = stack(iterator)
        count = int(count)
        if not count:
            raise StopIteration
        logs = run_steps(stacked)
        self.steps_run = count
        if bool(has_other):
            # The rest of this execution's batches, in Python: at most the
            # last execution of an epoch gets here.
            logs, more = _run_groups(
                run_steps, [other], iterator, self.steps - count - 1
            )
            self.steps_run += more
        return logs


def _stackable(spec):
    return (
        isinstance(spec, tf.TensorSpec)
        and spec.shape.rank is not None
        and spec.shape[1:].is_fully_defined()
    )


def _make_stacker(spec, steps):
    """A graph that pulls up to `steps` batches from an iterator of `spec`.

    It returns the leading run of batches of the first batch's size stacked
    along a new axis, their number, and the first batch of another size (or
    an empty one) with a flag; pulling stops at that batch or when the
    iterator is exhausted. One graph call instead of three eager ops and a
    stack per batch.
    """
    specs = tf.nest.flatten(spec)

    def empty(s):
        return tf.zeros([0] + s.shape[1:].as_list(), s.dtype)

    @tf.function
    def stack(iterator):
        def body(count, size, done, arrays, other, has_other):
            optional = iterator.get_next_as_optional()

            def with_value():
                batch = tf.nest.flatten(optional.get_value())
                batch_size = tf.shape(batch[0])[0]

                def append():
                    written = [a.write(count, t) for a, t in zip(arrays, batch)]
                    return (count + 1, batch_size, done, written, other, False)

                def keep_aside():
                    return (count, size, tf.constant(True), arrays, batch, True)

                same = tf.logical_or(count == 0, tf.equal(batch_size, size))
                return tf.cond(same, append, keep_aside)

            def exhausted():
                return (count, size, tf.constant(True), arrays, other, False)

            return tf.cond(optional.has_value(), with_value, exhausted)

        arrays = [
            tf.TensorArray(s.dtype, size=steps, element_shape=s.shape)
            for s in specs
        ]
        loop_vars = (
            tf.constant(0),
            tf.constant(-1),
            tf.constant(False),
            arrays,
            [empty(s) for s in specs],
            tf.constant(False),
        )
        invariants = (
            tf.TensorShape([]),
            tf.TensorShape([]),
            tf.TensorShape([]),
            [tf.TensorShape(None) for _ in specs],
            [tf.TensorShape([None] + s.shape[1:].as_list()) for s in specs],
            tf.TensorShape([]),
        )
        count, _, _, arrays, other, has_other = tf.while_loop(
            lambda count, size, done, *_: tf.logical_and(
                count < steps, tf.logical_not(done)
            ),
            body,
            loop_vars,
            shape_invariants=invariants,
        )
        # An exhausted iterator gives no batch, and no shape to stack.
        stacked = [
            tf.cond(
                count > 0,
                lambda a=a: a.gather(tf.range(count)),
                lambda s=s: tf.zeros([0, 0] + s.shape[1:].as_list(), s.dtype),
            )
            for a, s in zip(arrays, specs)
        ]
        return (
            tf.nest.pack_sequence_as(spec, stacked),
            count,
            tf.nest.pack_sequence_as(spec, other),
            has_other,
        )

    return stack


def _run_groups(run_steps, batches, iterator, steps):
    """Pulls up to `steps` more batches after `batches`, and runs the steps
    on runs of consecutive batches of one size, each as one fused group.
    Returns the logs of the last step and the number of steps; raises
    StopIteration when there is no batch at all."""
    for _ in range(steps):
        optional = iterator.get_next_as_optional()
        if not optional.has_value():
            break
        batches.append(optional.get_value())
    if not batches:
        raise StopIteration
    groups = []  # Runs of consecutive batches of one size.
    for batch in batches:
        size = tf.nest.flatten(batch)[0].shape[0]
        if groups and groups[-1][0] == size:
            groups[-1][1].append(batch)
        else:
            groups.append((size, [batch]))
    for _, group in groups:
        logs = run_steps(tf.nest.map_structure(lambda *t: tf.stack(t), *group))
    return logs, len(batches)
