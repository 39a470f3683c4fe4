"""The default fast path: `steps_per_execution` steps in one XLA program
train exactly as the same steps one at a time."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae
from keras_vae.callbacks import KLWarmup

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only


def train(data, callbacks=(), **compile_kwargs):
    keras.utils.set_random_seed(0)  # The same initial weights every time.
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-2), **compile_kwargs)
    # An array: 64 examples in batches of 6, 10 full batches and a short
    # one of 4, so the last execution holds batches of two sizes.
    batch_size = None if isinstance(data, tf.data.Dataset) else 6
    history = vae.fit(
        data,
        batch_size=batch_size,
        epochs=3,
        shuffle=False,
        verbose=0,
        callbacks=list(callbacks),
    )
    return vae, history.history


def assert_same_training(data, steps_per_execution, steps):
    reference, reference_history = train(data, steps_per_execution=1)
    fused, fused_history = train(data, steps_per_execution=steps_per_execution)
    assert int(reference.optimizer.iterations) == steps
    assert int(fused.optimizer.iterations) == steps
    for a, b in zip(reference.weights, fused.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    for name in ("loss", "reconstruction_loss", "kl_loss"):
        np.testing.assert_allclose(
            fused_history[name], reference_history[name], rtol=1e-4
        )


def test_defaults_are_the_fast_path(tiny_vae):
    tiny_vae.compile(optimizer="adam")
    assert tiny_vae.jit_compile is True
    assert tiny_vae.steps_per_execution == 32


def test_convolutions_on_a_cpu_skip_xla():
    # XLA by default on one device, except for a convolutional model on a
    # machine without a GPU: there the model keeps Keras's "auto", which
    # Keras resolves to no XLA on a CPU-only machine. With a GPU: XLA.
    has_gpu = bool(tf.config.list_physical_devices("GPU"))
    vae = keras_vae.build_conv_vae(input_shape=(8, 8, 1), hidden_units=())
    vae.compile(optimizer="adam")
    assert vae.jit_compile is has_gpu
    assert vae.steps_per_execution == 32


@pytest.mark.parametrize(
    "steps_per_execution, warmup", [(4, True), (32, False)]
)
def test_fused_steps_train_as_single_steps(
    vectors, steps_per_execution, warmup
):
    # With a KL warm-up, beta changes at every step inside the fused loop.
    def callbacks():
        return [KLWarmup(warmup_steps=10)] if warmup else []

    reference, reference_history = train(
        vectors, callbacks(), steps_per_execution=1
    )
    fused, fused_history = train(
        vectors, callbacks(), steps_per_execution=steps_per_execution
    )
    # Same number of optimizer steps, same noise (the seed generators
    # advance once per step), same weights up to float rounding.
    assert int(fused.optimizer.iterations) == 33
    assert int(reference.optimizer.iterations) == 33
    for a, b in zip(reference.weights, fused.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5)
    for name in ("loss", "reconstruction_loss", "kl_loss"):
        np.testing.assert_allclose(
            fused_history[name], reference_history[name], rtol=1e-4
        )


def noiseless_tiny_vae():
    """The tiny VAE with its posterior log-variance at the floor of the clip
    (-30, so sigma is 3e-7): the sampled z is z_mean to float rounding, and
    each batch's losses depend on that batch alone."""
    keras.utils.set_random_seed(0)
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    z_log_var = vae.encoder.get_layer("z_log_var")
    kernel, bias = z_log_var.get_weights()
    z_log_var.set_weights([np.zeros_like(kernel), np.full_like(bias, -30.0)])
    return vae


def test_fused_path_reports_exact_epoch_means(vectors):
    names = ("loss", "reconstruction_loss", "kl_loss")
    vae = noiseless_tiny_vae()

    def losses(x):
        return np.array([float(t) for t in vae.compute_losses(x)])

    # The examples in order of their loss: the short last batch (64 in
    # batches of 6: ten of 6, then one of 4) holds the four largest, so its
    # batch mean is far from the others'.
    per_example = [losses(vectors[i : i + 1])[0] for i in range(64)]
    x = vectors[np.argsort(per_example)]
    batches = [x[i : i + 6] for i in range(0, 64, 6)]
    sizes = np.array([len(batch) for batch in batches])
    assert sizes.tolist() == [6] * 10 + [4]
    batch_means = np.array([losses(batch) for batch in batches])
    # The mean per example: batch means weighted by batch size. Averaging
    # the batch means unweighted would be off by far more than rounding.
    exact = sizes @ batch_means / len(x)
    unweighted = batch_means.mean(axis=0)
    assert np.all(np.abs(exact - unweighted) > 1e-3 * np.abs(exact))

    # A learning rate of zero keeps the weights fixed while `fit` runs the
    # fused training steps: every epoch sees the same batch losses. Four
    # steps per execution: the last execution holds batches of 6 and of 4.
    weights = [w.numpy() for w in vae.weights]
    vae.compile(optimizer=keras.optimizers.SGD(0.0), steps_per_execution=4)
    history = vae.fit(
        x, batch_size=6, epochs=2, shuffle=False, verbose=0
    ).history
    evaluated = vae.evaluate(x, batch_size=6, verbose=0, return_dict=True)
    assert int(vae.optimizer.iterations) == 22
    for a, b in zip(weights, vae.weights):
        np.testing.assert_array_equal(a, b.numpy())
    for i, name in enumerate(names):
        np.testing.assert_allclose(history[name], [exact[i]] * 2, rtol=1e-5)
        np.testing.assert_allclose(evaluated[name], exact[i], rtol=1e-5)


# Keras warns at the end of the first epoch of a dataset of unknown length.
@pytest.mark.filterwarnings("ignore:Your input ran out of data")
def test_a_dataset_of_unknown_length_trains_as_single_steps(vectors):
    # No cardinality: the last call finds the iterator exhausted.
    dataset = (
        tf.data.Dataset.from_tensor_slices(vectors)
        .filter(lambda x: True)
        .batch(6)
    )
    assert dataset.cardinality() == tf.data.UNKNOWN_CARDINALITY
    assert_same_training(dataset, steps_per_execution=4, steps=33)


def test_batch_sizes_that_change_within_an_execution(vectors):
    # Batches of 6, 6, 4, then 6, 6, ...: the size changes inside the
    # first execution of 8 steps, whose rest is pulled in Python.
    first = tf.data.Dataset.from_tensor_slices(vectors[:16]).batch(6)
    rest = tf.data.Dataset.from_tensor_slices(vectors[16:]).batch(6)
    assert_same_training(
        first.concatenate(rest), steps_per_execution=8, steps=33
    )


def test_batches_of_unknown_shape_take_the_python_path(vectors):
    # A graph cannot stack batches whose example shape is unknown: they are
    # pulled one by one in Python, and still train as single steps.
    def unknown_shape(x):
        x = tf.numpy_function(lambda a: a, [x], tf.float32)
        return tf.ensure_shape(x, [None, None])

    dataset = tf.data.Dataset.from_tensor_slices(vectors).batch(6)
    dataset = dataset.map(unknown_shape)
    assert dataset.element_spec.shape.as_list() == [None, None]
    assert_same_training(dataset, steps_per_execution=4, steps=33)
