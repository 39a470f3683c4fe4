"""The `tf.distribute` strategy of `keras-vae train --distribute`."""

import contextlib
import os
import warnings


def make_strategy(name, cpu_devices=1):
    """The `tf.distribute` strategy of `--distribute` (None for "none")."""
    import tensorflow as tf

    if cpu_devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_devices
        )
    if name == "mirrored":
        devices = None  # Every GPU, else the CPU.
        if cpu_devices > 1 and not tf.config.list_physical_devices("GPU"):
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multi-worker":
        if "TF_CONFIG" not in os.environ:
            raise ValueError(
                "--distribute multi-worker reads the cluster from the "
                "TF_CONFIG environment variable. Received: no TF_CONFIG"
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    return None


def is_chief(strategy):
    """Whether this process writes the outputs: always, except on the
    workers of a multi-worker cluster other than its chief (the "chief"
    task, else worker 0)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and (not has_chief)
    )


@contextlib.contextmanager
def unknown_length_quiet(data):
    """Silences Keras's "Your input ran out of data" for a distributed
    folder: Keras says it when a dataset of unknown length (as a sharded
    folder's is on purpose; see `cli.distributed_folder.sharded_folder`)
    ends its first epoch, not only when `steps_per_epoch` asks for more
    than there is."""
    import tensorflow as tf

    with warnings.catch_warnings():
        if isinstance(data, tf.distribute.DistributedDataset):
            warnings.filterwarnings(
                "ignore", "Your input ran out of data", UserWarning
            )
        yield
