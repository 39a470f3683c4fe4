"""Trains a tiny VAE under a `tf.distribute` strategy and records every
update: the subprocess half of `test_distribute.py`.

Usage: `python tests/distribute_run.py {mirrored,multi-worker} OUT.npz`.
`mirrored` splits the CPU into two logical devices (which must happen before
TensorFlow initialises, hence a fresh process); `multi-worker` reads
`TF_CONFIG`. The test imports `train` and `draw_noise` to run the same
training on one device in its own process.

`python tests/distribute_run.py cli OUT_DIR ARGS...` runs `keras-vae ARGS`
and records, for `test_distribute_folder.py`, the files this process read
(`reads.txt`), the steps of each epoch and the trained weights
(`run.npz`) in `OUT_DIR`.

The model is deterministic up to ~1e-7: `z_log_var` starts at -30 with a
zero kernel, so `z = z_mean + 3e-7 * epsilon`. A doubled or halved
gradient cannot hide behind sampling noise, and two runs of the same
global batches must give the same weights after every step.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: `optimizer: (learning_rate, num_examples)`. Global batches of 16, the KL
#: warm-up changing beta at every step: 3 full batches, then a short one of
#: 3 (split 2 + 1 over two replicas) for SGD, of 1 (one replica gets no
#: examples) for Adam.
CASES = {"sgd": (0.1, 51), "adam": (0.01, 49)}
BATCH_SIZE = 16


def data(num_examples):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.uniform(size=(num_examples, 8)).astype("float32")


def build(optimizer, learning_rate=None, strategy=None):
    """The VAE with fixed initial weights, compiled with the defaults (one
    device: one step per execution, so callbacks see every step)."""
    import contextlib

    import keras
    import numpy as np

    import keras_vae

    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with scope:
        vae = keras_vae.build_mlp_vae(
            input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
        )
        rng = np.random.default_rng(1)
        for variable in vae.trainable_variables:
            if variable.path.startswith("z_log_var/"):
                value = np.full(variable.shape, -30.0 * (variable.ndim == 1))
            else:
                value = 0.5 * rng.normal(size=variable.shape)
            variable.assign(value.astype("float32"))
        vae.set_kl_warmup(4, start_beta=0.25, target_beta=1.0)
        learning_rate = learning_rate or CASES[optimizer][0]
        optimizer = {
            "sgd": keras.optimizers.SGD,
            "adam": keras.optimizers.Adam,
        }[optimizer](learning_rate)
        if strategy:
            vae.compile(optimizer=optimizer)
        else:
            vae.compile(optimizer=optimizer, steps_per_execution=1)
    return vae


def train(optimizer, learning_rate=None, strategy=None):
    """One epoch; returns `(weights, logs, epoch_logs)`: the trainable
    weights after each step, the logged running means after each step, and
    the epoch's logs, as lists of arrays."""
    import keras
    import numpy as np

    names = ("loss", "reconstruction_loss", "kl_loss")
    weights, records = [], []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            weights.append([v.numpy() for v in self.model.trainable_variables])
            records.append([logs[name] for name in names])

    vae = build(optimizer, learning_rate, strategy)
    history = vae.fit(
        data(CASES[optimizer][1]),
        batch_size=BATCH_SIZE,
        epochs=1,
        shuffle=False,
        callbacks=[Record()],
        verbose=0,
    )
    epoch_logs = [history.history[name][0] for name in names]
    return weights, np.array(records), np.array(epoch_logs)


def draw_noise(strategy):
    """Two draws of the VAE's `Sampling` layer with `z_log_var = 0` on every
    replica, gathered: shape `(2, replicas * 4, 2)`, replica 0's rows
    first."""
    import numpy as np
    import tensorflow as tf

    vae = build("sgd", strategy=strategy)
    layer = vae.encoder.get_layer("z")

    @tf.function
    def draw():
        def replica_fn():
            zeros = tf.zeros((4, 2))
            return layer([zeros, zeros])

        return strategy.gather(strategy.run(replica_fn), axis=0)

    return np.stack([draw().numpy(), draw().numpy()])


def main(mode, path):
    import numpy as np
    import tensorflow as tf

    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    elif mode == "multi-worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        raise ValueError(f"Unknown mode. Received: mode={mode!r}")
    arrays = {"replicas": np.array(strategy.num_replicas_in_sync)}
    for optimizer in CASES:
        weights, logs, epoch_logs = train(optimizer, strategy=strategy)
        for step, step_weights in enumerate(weights):
            for i, value in enumerate(step_weights):
                arrays[f"{optimizer}/step{step}/w{i}"] = value
        arrays[f"{optimizer}/logs"] = logs
        arrays[f"{optimizer}/epoch_logs"] = epoch_logs
    arrays["noise"] = draw_noise(strategy)
    np.savez(path, **arrays)


def run_cli(directory, *arguments):
    """`keras-vae ARGUMENTS`, recording what `fit` did and every file
    `tf.io.read_file` read (in tf.data's threads, as they are read)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_vae import VAE
    from keras_vae.cli import main as cli

    reads = []
    read_file = tf.io.read_file

    def recorded_read_file(filename, name=None):
        def record(path):
            reads.append(path.decode())
            return path

        path = tf.numpy_function(record, [filename], tf.string)
        path.set_shape(filename.shape)
        return read_file(path, name=name)

    steps, weights = [], {}

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            steps.append(0)

        def on_train_batch_end(self, batch, logs=None):
            steps[-1] += 1

        def on_train_end(self, logs=None):
            for i, variable in enumerate(self.model.trainable_variables):
                weights[f"w{i}"] = variable.numpy()

    fit = VAE.fit

    def recorded_fit(self, *args, **kwargs):
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), Record()]
        return fit(self, *args, **kwargs)

    tf.io.read_file = recorded_read_file
    VAE.fit = recorded_fit
    try:
        status = cli(list(arguments))
    finally:
        tf.io.read_file, VAE.fit = read_file, fit
    with open(os.path.join(directory, "reads.txt"), "w") as f:
        f.write("".join(path + "\n" for path in reads))
    np.savez(
        os.path.join(directory, "run.npz"), steps=np.array(steps), **weights
    )
    return status


if __name__ == "__main__":
    if sys.argv[1] == "cli":
        sys.exit(run_cli(*sys.argv[2:]))
    main(*sys.argv[1:])
