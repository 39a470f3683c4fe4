"""Counting what `fit` traces and compiles: a VAE whose steps count their
traces, and the XLA compilations of JAX."""

import contextlib

import keras

from keras_vae import VAE

#: What JAX reports for each XLA compilation (`jax.monitoring`).
_JAX_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class TraceCountingVAE(VAE):
    """A VAE whose steps count their Python executions: the traces, under
    `tf.function` or `jax.jit`, whose bodies run only while tracing."""

    train_traces = 0
    test_traces = 0

    def train_step(self, *args):
        # `(data)`, or `(state, data)` on JAX.
        self.train_traces += 1
        return super().train_step(*args)

    def test_step(self, *args):
        self.test_traces += 1
        return super().test_step(*args)

    def traces(self):
        """`(train_traces, test_traces)`."""
        return self.train_traces, self.test_traces


def trace_counting(vae):
    """A `TraceCountingVAE` of `vae`'s encoder and decoder."""
    return TraceCountingVAE(vae.encoder, vae.decoder)


@contextlib.contextmanager
def jax_compiles():
    """A list of the XLA compilations JAX runs inside the block (it stays
    empty on the other backends)."""
    compiles = []
    if keras.backend.backend() != "jax":
        yield compiles
        return
    import jax

    def listener(event, duration, **kwargs):
        if event == _JAX_COMPILE_EVENT:
            compiles.append(duration)

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield compiles
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
