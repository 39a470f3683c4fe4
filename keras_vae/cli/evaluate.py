"""`keras-vae evaluate`: the test ELBO, IWAE log-likelihood, active units."""

import json
import math

from keras_vae.cli.data_arguments import add_data_arguments


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "evaluate",
        help="Evaluate a trained VAE on a test set.",
        description=(
            "Print the ELBO split into its parts, the importance-sampled "
            "log-likelihood (nats per example and bits per dimension), the "
            "active units and the KL per latent dimension; optionally write "
            "them as JSON."
        ),
    )
    add_data_arguments(parser, with_model=True)
    parser.add_argument(
        "--num-samples",
        type=int,
        default=5000,
        help="Importance samples K per example. Default: 5000.",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="Use the first N test images."
    )
    parser.add_argument(
        "--binarize",
        action="store_true",
        help="Evaluate on a binarized test set (one fixed draw, --seed).",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", help="Write the results as JSON here.")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="A progress bar while the log-likelihood is estimated (1), one "
        "line when it is done (2), or none (0). Default: 1.",
    )
    parser.set_defaults(run=run)


def run(args):
    import numpy as np

    from keras_vae import evaluation
    from keras_vae.cli.data import load_data
    from keras_vae.datasets import binarize
    from keras_vae.saving import load_vae
    from keras_vae.utils.atomic import atomic_path

    vae = load_vae(args.model)
    x_test = load_data(args, test_limit=None, shuffle=False).x_test
    if args.limit is not None:
        x_test = x_test[: args.limit]
    if args.binarize:
        x_test = binarize(x_test, seed=args.seed)
    elbo = vae.evaluate(x_test, batch_size=256, return_dict=True, verbose=0)
    if args.verbose:
        print(
            f"Estimating log p(x) of {len(x_test)} test examples with "
            f"K={args.num_samples} importance samples each"
        )
    log_px = evaluation.log_likelihood(
        vae,
        x_test,
        num_samples=args.num_samples,
        seed=args.seed,
        verbose=args.verbose,
    )
    nll = float(-np.mean(log_px))
    data_size = math.prod(vae.data_shape)
    count, variances = evaluation.active_units(vae, x_test)
    kl = evaluation.kl_per_dimension(vae, x_test)
    results = {
        "model": args.model,
        "dataset": args.dataset,
        "binarized": args.binarize,
        "examples": int(len(x_test)),
        "negative_elbo": float(elbo["loss"]),
        "reconstruction_loss": float(elbo["reconstruction_loss"]),
        "kl_loss": float(elbo["kl_loss"]),
        "nll": nll,
        "nll_standard_error": float(np.std(log_px) / math.sqrt(len(log_px))),
        "bits_per_dim": nll / (data_size * math.log(2)),
        "num_samples": args.num_samples,
        "active_units": count,
        "latent_dimensions": int(len(kl)),
        "posterior_mean_variance": [float(v) for v in variances],
        "kl_per_dimension": [float(v) for v in kl],
        "units": "nats per example",
    }
    rows = [
        ("-ELBO", f"{results['negative_elbo']:.2f}"),
        ("  reconstruction", f"{results['reconstruction_loss']:.2f}"),
        ("  KL", f"{results['kl_loss']:.2f}"),
        (
            f"NLL (K={args.num_samples})",
            f"{nll:.2f} ± {results['nll_standard_error']:.2f}",
        ),
        ("bits per dim", f"{results['bits_per_dim']:.4f}"),
        ("active units", f"{count} of {len(kl)}"),
    ]
    print(f"{len(x_test)} test examples, nats per example")
    for name, value in rows:
        print(f"{name:<22}{value:>16}")
    print("KL per dimension:", " ".join(f"{v:.2f}" for v in kl))
    if args.output:
        with atomic_path(args.output, overwrite=args.overwrite) as temp:
            with open(temp, "w") as f:
                json.dump(results, f, indent=2)
        print(f"wrote {args.output}")
    return 0
