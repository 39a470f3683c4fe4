"""`keras-vae train`: trains a VAE and writes the model, metrics and a PNG."""

import contextlib
import json
import os
import shutil
import tempfile
import time

from keras_vae.cli.strategy import is_chief
from keras_vae.cli.strategy import make_strategy
from keras_vae.cli.strategy import unknown_length_quiet
from keras_vae.cli.train_arguments import BUILDERS
from keras_vae.cli.train_arguments import add_train_arguments

#: How the metrics file names the units of the model's input.
INPUT_UNITS = {
    "8bit": "8-bit pixel values",
    "table": "table rows in their own units (standardized in the model)",
    "unit": "values in [0, 1]",
    "series": "windows of time series in their own units (standardized "
    "per channel in the model)",
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
    add_train_arguments(parser)
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
    if len(data.input_shape) < 2 or data.kind == "series":
        del paths["png"]  # Table rows and windows: no picture to draw.
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
        "gaussian" if data.kind in ("table", "series") else "bernoulli"
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
    architecture, build, hidden_units = builder_for(args, data)
    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with scope:
        vae = build(
            data.input_shape,
            latent_dim=args.latent_dim,
            likelihood=likelihood,
            beta=args.beta,
            free_bits=args.free_bits,
            num_importance_samples=args.importance_samples,
            seed=args.seed,
            preprocessing=preprocessing_for(data),
            prior=prior_for(args, data),
            hidden_units=hidden_units,
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
    with unknown_length_quiet(train_data):
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
    with unknown_length_quiet(x_test):
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
        "architecture": architecture,
        "latent_dim": args.latent_dim,
        "hidden_units": list(hidden_units),
        "likelihood": likelihood_name,
        "input_units": INPUT_UNITS[data.kind],
        "prior": args.prior,
        "prior_components": _prior_components(args),
        "beta": args.beta,
        "free_bits": args.free_bits,
        "warmup_epochs": args.warmup_epochs,
        "importance_samples": args.importance_samples,
        "binarize": args.binarize,
        **(
            {"window": args.window, "stride": args.stride}
            if data.kind == "series"
            else {}
        ),
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


_KINDS = {
    "unit": "values in [0, 1]",
    "table": "table rows",
    "8bit": "8-bit pixel values",
    "series": "windows of time series",
}


def builder_for(args, data):
    """`(architecture, build, hidden_units)`: the `--architecture` (by
    default mlp, conv for time series), its builder and its hidden
    units (by default 400, and the builder's own for time series)."""
    import functools
    import inspect

    import keras_vae

    if data.kind != "series":
        architecture = args.architecture or "mlp"
        if architecture == "recurrent":
            raise ValueError(
                "--architecture recurrent models windows of time series "
                "(--window). Received: --architecture recurrent without "
                "--window"
            )
        build = getattr(keras_vae, BUILDERS[architecture])
        return architecture, build, _hidden_units(args, (400,))
    architecture = args.architecture or "conv"
    if architecture == "resnet":
        raise ValueError(
            "Time series (--window) train with --architecture conv (dilated "
            "1-D convolutions), recurrent (GRUs) or mlp. Received: "
            "--architecture resnet"
        )
    if architecture == "mlp":
        build = keras_vae.build_mlp_vae
        return architecture, build, _hidden_units(args, (400,))
    build = functools.partial(
        keras_vae.build_sequence_vae, architecture=architecture
    )
    default = inspect.signature(build.func).parameters["hidden_units"]
    return architecture, build, _hidden_units(args, default.default)


def _hidden_units(args, default):
    """`--hidden-units` (none given: no hidden layers), or `default`."""
    if args.hidden_units is None:
        return tuple(default)
    return tuple(args.hidden_units)


def prior_for(args, data):
    """The `prior=` of the builder for `--prior` and
    `--prior-components`."""
    from keras_vae import priors
    from keras_vae.utils.argument_checks import check_positive_int

    if args.prior == "standard":
        if args.prior_components is not None:
            raise ValueError(
                "--prior-components sets the mixture of --prior mog or "
                "--prior vamp; the standard normal has none. Received: "
                f"--prior-components {args.prior_components}"
            )
        return None
    components = check_positive_int(_prior_components(args), "prior_components")
    if args.prior == "mog":
        return priors.MixtureOfGaussians(components, seed=args.seed)
    # Pseudo-inputs in the encoder's units: [0, 1] for images, unbounded
    # for standardized tables.
    bounds = None if data.kind in ("table", "series") else (0.0, 1.0)
    return priors.VampPrior(
        components, pseudo_input_range=bounds, seed=args.seed
    )


def _prior_components(args):
    if args.prior == "standard":
        return None
    if args.prior_components is not None:
        return args.prior_components
    return {"mog": 10, "vamp": 500}[args.prior]


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
    if data.kind == "series":
        # One mean and variance per channel, from the training steps.
        normalization = keras.layers.Normalization(axis=-1)
        normalization.adapt(data.steps[:, None, :])
        return normalization
    return None
