"""The arguments of `keras-vae train`."""

from keras_vae.cli.data_arguments import add_data_arguments

#: The builder of each `--architecture`, by its name in `keras_vae`.
BUILDERS = {
    "mlp": "build_mlp_vae",
    "conv": "build_conv_vae",
    "resnet": "build_resnet_vae",
    "recurrent": "build_sequence_vae",
}


def add_train_arguments(parser):
    """Adds the arguments of `keras-vae train` to `parser`."""
    add_data_arguments(parser)
    parser.add_argument(
        "--architecture",
        choices=tuple(BUILDERS),
        default=None,
        help="mlp: dense layers; conv: strided convolutions (time series: "
        "dilated 1-D convolutions); resnet: residual convolutional stages, "
        "for colour images of 32-64 pixels; recurrent: GRUs (time series). "
        "Default: mlp, conv for time series (--window).",
    )
    parser.add_argument("--latent-dim", type=int, default=20)
    parser.add_argument(
        "--hidden-units",
        type=int,
        nargs="*",
        default=None,
        help="Widths of the hidden dense layers. Default: 400 (time "
        "series: 128).",
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
    parser.add_argument(
        "--prior",
        choices=("standard", "mog", "vamp"),
        default="standard",
        help="The prior p(z): standard (N(0, I), the KL in closed form), "
        "mog (a learned mixture of Gaussians) or vamp (a VampPrior: the "
        "mixture of the posteriors of learned pseudo-inputs). The other "
        "priors train on a Monte-Carlo KL and need --free-bits 0. "
        "Default: standard.",
    )
    parser.add_argument(
        "--prior-components",
        type=int,
        default=None,
        help="The mixture's components (mog, default 10) or pseudo-inputs "
        "(vamp, default 500).",
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
