"""The argument checks that several builders share."""

from keras_vae import likelihoods
from keras_vae.builders.image_sizes import check_image_shape
from keras_vae.utils.argument_checks import check_int_tuple
from keras_vae.utils.argument_checks import check_positive_int


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
