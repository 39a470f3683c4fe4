"""`keras-vae plot`: the pictures of a trained VAE, as PNG files."""

import os

from keras_vae.cli.data_arguments import add_data_arguments


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "plot",
        help="Draw samples, reconstructions and the latent space as PNGs.",
        description=(
            "Write samples.png (prior samples beside reconstructions), "
            "latent_map.png (posterior means coloured by label; PCA above 2 "
            "dimensions), manifold.png (decoded latent grid) and "
            "traversals.png into the output directory."
        ),
    )
    add_data_arguments(parser, with_model=True)
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    parser.set_defaults(run=run)


def run(args):
    from keras_vae import plotting
    from keras_vae.cli.data import load_data
    from keras_vae.saving import load_vae

    vae = load_vae(args.model)
    if len(vae.data_shape) != 3:
        kind = "table rows" if len(vae.data_shape) == 1 else "windows"
        raise ValueError(
            f"`plot` draws images (height, width, channels), and "
            f"{args.model!r} models {kind} of shape {vae.data_shape}. For "
            "windows of a series, `keras-vae score` gives a score per time "
            f"step. Received: data_shape={vae.data_shape}"
        )
    data = load_data(args, test_limit=None, shuffle=False)
    x_test, y_test = data.x_test, data.y_test
    x_test = x_test[:5000]
    y_test = None if y_test is None else y_test[:5000]
    out = args.output_dir
    paths = {
        name: os.path.join(out, f"{name}.png")
        for name in ("samples", "latent_map", "manifold", "traversals")
    }
    # Each path is printed once its file is written, so a failure on the
    # way reports exactly the files that exist.
    plotting.save_samples_and_reconstructions(
        vae, x_test, paths["samples"], seed=args.seed, overwrite=args.overwrite
    )
    print(f"wrote {paths['samples']}")
    plotting.save_latent_map(
        vae, x_test, y_test, paths["latent_map"], overwrite=args.overwrite
    )
    print(f"wrote {paths['latent_map']}")
    plotting.save_manifold(
        vae, paths["manifold"], x=x_test, overwrite=args.overwrite
    )
    print(f"wrote {paths['manifold']}")
    plotting.save_traversals(
        vae, x_test, paths["traversals"], overwrite=args.overwrite
    )
    print(f"wrote {paths['traversals']}")
    return 0
