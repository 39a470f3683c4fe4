"""`keras-vae train`: trains a VAE and writes the model, metrics and a PNG."""

import contextlib
import json
import os
import shutil
import tempfile
import time
import warnings

from keras_vae.cli.data import add_data_arguments

#: How the metrics file names the units of the model's input.
INPUT_UNITS = {
    "8bit": "8-bit pixel values",
    "table": "table rows in their own units (standardized in the model)",
    "unit": "values in [0, 1]",
}

#: The builder of each `--architecture`, by its name in `keras_vae`.
BUILDERS = {
    "mlp": "build_mlp_vae",
    "conv": "build_conv_vae",
    "resnet": "build_resnet_vae",
}


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "train",
        help="Train a VAE on a named dataset or your own data.",
        description=(
            "Train a VAE and write MODEL.keras, MODEL_metrics.json and "
            "MODEL_samples.png into the output directory."
        ),
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--architecture",
        choices=tuple(BUILDERS),
        default="mlp",
        help="mlp: dense layers; conv: strided convolutions; resnet: "
        "residual convolutional stages, for colour images of 32-64 pixels. "
        "Default: mlp.",
    )
    parser.add_argument("--latent-dim", type=int, default=20)
    parser.add_argument(
        "--hidden-units",
        type=int,
        nargs="*",
        default=[400],
        help="Widths of the hidden dense layers. Default: 400.",
    )
    parser.add_argument(
        "--likelihood",
        choices=(
            "bernoulli",
            "gaussian",
            "discretized_logistic_mixture",
            "discretized_logistic",
        ),
        default=None,
        help="Default: bernoulli for images (pixel intensities in [0, 1]), "
        "gaussian for tables. The discretized logistics model 8-bit pixel "
        "values (image folders, cifar10).",
    )
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument(
        "--free-bits",
        type=float,
        default=0.0,
        help="KL floor per latent dimension, in nats. Default: 0 (off).",
    )
    parser.add_argument(
        "--warmup-epochs",
        type=int,
        default=0,
        help="Raise beta linearly from 0 over this many epochs. Default: 0.",
    )
    parser.add_argument(
        "--importance-samples",
        type=int,
        default=1,
        help="K of the IWAE objective; 1 trains on the ELBO. Default: 1.",
    )
    parser.add_argument(
        "--binarize",
        choices=("none", "static", "dynamic"),
        default="none",
        help="Binarize the training images once (static) or afresh every "
        "epoch (dynamic); the test images are binarized once (seed 1234). "
        "Default: none.",
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--distribute",
        choices=("none", "mirrored", "multi-worker"),
        default="none",
        help="Train under a tf.distribute strategy: mirrored (every local "
        "GPU, or the --cpu-devices), multi-worker (the cluster in "
        "$TF_CONFIG; only the chief writes the files). --batch-size is the "
        "global batch. Default: none.",
    )
    parser.add_argument(
        "--cpu-devices",
        type=int,
        default=1,
        help="Split the CPU into this many logical devices: the replicas "
        "of --distribute mirrored on a machine without GPUs (to try it "
        "out). Default: 1.",
    )
    parser.add_argument(
        "--output-dir",
        default="saved_models",
        help="Where to write the files. Default: saved_models.",
    )
    parser.add_argument(
        "--name",
        default=None,
        help="Base name of the files. Default: '<dataset>_vae', or 'model' "
        "with --data.",
    )
    parser.add_argument(
        "--backup-dir",
        default=None,
        help="Back up the training state here every epoch; a run killed "
        "and started again with the same arguments resumes where the last "
        "backup was made (keras_vae.callbacks.BackupAndRestore). The "
        "backup is deleted when training completes.",
    )
    parser.add_argument(
        "--tensorboard",
        metavar="DIR",
        default=None,
        help="Write TensorBoard logs here: the loss curves "
        "(keras.callbacks.TensorBoard, runs train/ and validation/), and "
        "prior samples, reconstructions, KL per latent dimension, active "
        "units, and the test set's latent means with their labels for the "
        "Embedding Projector (keras_vae.callbacks.VAETensorBoard, run vae/). "
        "View with `tensorboard --logdir DIR`.",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="Replace existing files."
    )
    parser.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1)
    parser.set_defaults(run=run)


def run(args):
    import keras
    import tensorflow as tf

    import keras_vae
    from keras_vae.callbacks import BackupAndRestore
    from keras_vae.callbacks import KLWarmup
    from keras_vae.callbacks import VAETensorBoard
    from keras_vae.cli.data import load_data
    from keras_vae.datasets import binarize
    from keras_vae.datasets import dynamic_binarization
    from keras_vae.plotting import save_samples_and_reconstructions
    from keras_vae.utils.argument_checks import check_positive_int
    from keras_vae.utils.atomic import atomic_path

    for flag in ("epochs", "batch_size", "latent_dim", "cpu_devices"):
        check_positive_int(getattr(args, flag), flag)
    # First: a multi-worker strategy must exist before any other
    # TensorFlow work, and logical devices before TensorFlow initialises.
    strategy = make_strategy(args.distribute, args.cpu_devices)
    # Every worker trains, evaluates and saves (saving reads variables
    # that all workers sync), but only the chief writes to --output-dir.
    chief = is_chief(strategy)
    output_dir = args.output_dir if chief else tempfile.mkdtemp()
    data = load_data(args, batch_size=args.batch_size, strategy=strategy)
    name = args.name or data.name
    paths = {
        "model": os.path.join(output_dir, f"{name}.keras"),
        "metrics": os.path.join(output_dir, f"{name}_metrics.json"),
        "png": os.path.join(output_dir, f"{name}_samples.png"),
    }
    if len(data.input_shape) < 2:  # Table rows: no picture to draw.
        del paths["png"]
    if not args.overwrite:
        for path in paths.values():
            if os.path.exists(path):
                raise FileExistsError(
                    f"{path!r} exists already. Pass --overwrite or choose "
                    f"another --output-dir or --name. Received: {path}"
                )

    keras.utils.set_random_seed(args.seed)
    train_data, x_test, pictures = data.train, data.validation, data.x_test
    # Batches come from the data themselves (a streamed folder, dynamic
    # binarization) or from --batch-size (arrays).
    datasets = (tf.data.Dataset, tf.distribute.DistributedDataset)
    streamed = isinstance(train_data, datasets)
    if args.binarize != "none" and data.kind != "unit":
        raise ValueError(
            "--binarize takes images with values in [0, 1] (grey levels as "
            f"probabilities). Received: {data.kind} data"
        )
    if args.binarize != "none":
        x_test = pictures = binarize(x_test, seed=1234)
        if args.binarize == "static":
            train_data = binarize(data.train, seed=args.seed)
        else:
            streamed = True
            train_data = dynamic_binarization(
                data.train, args.batch_size, seed=args.seed
            )
    likelihood_name = args.likelihood or (
        "gaussian" if data.kind == "table" else "bernoulli"
    )
    if likelihood_name.startswith("discretized") and data.kind != "8bit":
        raise ValueError(
            f"--likelihood {likelihood_name} models 8-bit pixel values, but "
            f"these data are {_KINDS[data.kind]}. Train it on an image "
            "folder (--data FOLDER) or --dataset cifar10, or choose "
            f"bernoulli or gaussian. Received: --likelihood {likelihood_name}"
        )
    likelihood = likelihood_name
    if likelihood_name == "gaussian":
        likelihood = keras_vae.likelihoods.Gaussian()
    build = getattr(keras_vae, BUILDERS[args.architecture])
    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with scope:
        vae = build(
            data.input_shape,
            latent_dim=args.latent_dim,
            hidden_units=tuple(args.hidden_units),
            likelihood=likelihood,
            beta=args.beta,
            free_bits=args.free_bits,
            num_importance_samples=args.importance_samples,
            seed=args.seed,
            preprocessing=preprocessing_for(data),
        )
        vae.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    callbacks = []
    if args.warmup_epochs:
        callbacks.append(
            KLWarmup(warmup_epochs=args.warmup_epochs, target_beta=args.beta)
        )
    if args.backup_dir:
        callbacks.append(BackupAndRestore(args.backup_dir))
    if args.tensorboard and chief:
        callbacks.append(keras.callbacks.TensorBoard(args.tensorboard))
        callbacks.append(
            VAETensorBoard(pictures, args.tensorboard, labels=data.y_test)
        )
    start = time.perf_counter()
    with _unknown_length_quiet(train_data):
        history = vae.fit(
            train_data,
            epochs=args.epochs,
            batch_size=None if streamed else args.batch_size,
            validation_data=x_test,
            callbacks=callbacks,
            shuffle=not streamed,
            verbose=args.verbose,
        )
    seconds = time.perf_counter() - start
    with _unknown_length_quiet(x_test):
        test = vae.evaluate(
            x_test,
            batch_size=None
            if isinstance(x_test, datasets)
            else args.batch_size,
            return_dict=True,
            verbose=0,
        )

    with atomic_path(paths["model"], overwrite=args.overwrite) as temp:
        vae.save(temp)
    metrics = {
        "dataset": args.data or args.dataset or "mnist",
        "architecture": args.architecture,
        "latent_dim": args.latent_dim,
        "hidden_units": list(args.hidden_units),
        "likelihood": likelihood_name,
        "input_units": INPUT_UNITS[data.kind],
        "beta": args.beta,
        "free_bits": args.free_bits,
        "warmup_epochs": args.warmup_epochs,
        "importance_samples": args.importance_samples,
        "binarize": args.binarize,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "distribute": args.distribute,
        "replicas": strategy.num_replicas_in_sync if strategy else 1,
        "train_examples": int(data.num_train),
        "test_examples": int(data.num_validation),
        "train_seconds": round(seconds, 2),
        "test": {k: float(v) for k, v in test.items()},
        "history": {
            k: [float(v) for v in values]
            for k, values in history.history.items()
        },
        "units": "nats per example",
    }
    with atomic_path(paths["metrics"], overwrite=args.overwrite) as temp:
        with open(temp, "w") as f:
            json.dump(metrics, f, indent=2)
    if "png" in paths:
        save_samples_and_reconstructions(
            vae,
            pictures,
            paths["png"],
            seed=args.seed,
            overwrite=args.overwrite,
        )
    print(
        f"test loss {test['loss']:.2f} nats per example "
        f"(reconstruction {test['reconstruction_loss']:.2f}, "
        f"KL {test['kl_loss']:.2f}) after {args.epochs} epochs in "
        f"{seconds:.1f} s"
    )
    if not chief:
        shutil.rmtree(output_dir)
        return 0
    for path in paths.values():
        print(f"wrote {path}")
    return 0


@contextlib.contextmanager
def _unknown_length_quiet(data):
    """Silences Keras's "Your input ran out of data" for a distributed
    folder: Keras says it when a dataset of unknown length (as a sharded
    folder's is on purpose; see `cli.data._sharded_folder`) ends its first
    epoch, not only when `steps_per_epoch` asks for more than there is."""
    import tensorflow as tf

    with warnings.catch_warnings():
        if isinstance(data, tf.distribute.DistributedDataset):
            warnings.filterwarnings(
                "ignore", "Your input ran out of data", UserWarning
            )
        yield


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


_KINDS = {
    "unit": "values in [0, 1]",
    "table": "table rows",
    "8bit": "8-bit pixel values",
}


def preprocessing_for(data):
    """The model's input units for the data: 8-bit pixels, tables
    standardized inside the model, or none for values in [0, 1]."""
    import keras

    if data.kind == "8bit":
        return "8bit"
    if data.kind == "table":
        normalization = keras.layers.Normalization()
        normalization.adapt(data.train)
        return normalization
    return None
