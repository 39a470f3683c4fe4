"""The `keras-vae` command line: train, evaluate, plot, score, export."""

import argparse
import sys

from keras_vae import program_start
from keras_vae.cli import evaluate
from keras_vae.cli import export
from keras_vae.cli import plot
from keras_vae.cli import score
from keras_vae.cli import train


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="keras-vae",
        description="Train and export variational autoencoders.",
        epilog=(
            "TensorFlow's start-up lines (oneDNN, CUDA drivers, XLA) are "
            f"hidden; set {program_start.OPT_IN}=1 to see them. A "
            "TF_CPP_MIN_LOG_LEVEL that you set is kept (the default here is "
            "1: no INFO lines)."
        ),
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in (train, evaluate, plot, score, export):
        command.add_parser(subparsers)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileExistsError, FileNotFoundError) as error:
        print(f"keras-vae {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
