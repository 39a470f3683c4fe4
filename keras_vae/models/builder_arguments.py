"""The arguments of the builders: the checks that several of them share,
and those they pass on to the model they build as they are."""

from keras_vae import likelihoods
from keras_vae.models.image_sizes import check_image_shape
from keras_vae.utils.argument_checks import check_int_tuple
from keras_vae.utils.argument_checks import check_positive_int

#: The arguments of `keras_vae.VAE` that `build_mlp_vae`, `build_conv_vae`
#: and `build_resnet_vae` pass on unchanged (the likelihood they pass
#: checked, the rest they use themselves).
VAE_ARGUMENTS = ("num_importance_samples", "seed", "preprocessing", "name")

#: The arguments of `keras_vae.HierarchicalVAE` that
#: `build_hierarchical_vae` and `build_hierarchical_mlp_vae` pass on
#: unchanged (the likelihood they pass checked).
HIERARCHICAL_VAE_ARGUMENTS = (
    "beta",
    "free_bits",
    "num_importance_samples",
    "seed",
    "preprocessing",
    "log_variance_bound",
    "clip_gradient_norm",
    "skip_gradient_norm",
    "max_consecutive_skips",
    "name",
)


def model_kwargs(builder_arguments, names):
    """The keyword arguments `names` of a builder's `builder_arguments`.

    Args:
        builder_arguments: The builder's `locals()`, taken before it assigns
            anything: its arguments as the caller gave them.
        names: The arguments to pass on, such as `VAE_ARGUMENTS`.

    Returns:
        A new dict of `names` and their values.
    """
    return {name: builder_arguments[name] for name in names}


def check_conv_arguments(
    input_shape, latent_dim, filters, hidden_units, likelihood
):
    """Checks the arguments that `build_conv_vae` and `build_resnet_vae`
    share, in this order.

    Returns:
        `(input_shape, latent_dim, filters, hidden_units, likelihood)`:
        `input_shape` as `(height, width, channels)`, `latent_dim` as an
        int, `filters` and `hidden_units` (which may be empty) as tuples of
        ints, and `likelihood` as a `keras_vae.likelihoods` instance.

    Raises:
        ValueError: For the first invalid argument, saying what it received.
    """
    return (
        check_image_shape(input_shape),
        check_positive_int(latent_dim, "latent_dim"),
        check_int_tuple(filters, "filters"),
        check_int_tuple(hidden_units, "hidden_units", True),
        likelihoods.get(likelihood),
    )
