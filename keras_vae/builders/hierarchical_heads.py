"""The Gaussian heads of the posteriors and priors that
`build_hierarchical_vae` and `build_hierarchical_mlp_vae` build."""


def gaussian_heads(layer, features, prefix, zeros=False):
    """`[mean, log_var]` of one group's posterior or prior, two float32
    layers on `features`.

    Args:
        layer: Makes one head from the keyword arguments
            `kernel_initializer`, `dtype` and `name`, such as
            `functools.partial(keras.layers.Dense, size)`.
        features: The input of the heads.
        prefix: The heads are named `f"{prefix}_mean"` and
            `f"{prefix}_log_var"`.
        zeros: Whether the mean's kernel starts at zero too (the
            log-variance's always does), so that with zero biases the
            distribution starts as a standard normal.

    Returns:
        `[mean, log_var]`.
    """
    initializer = "zeros" if zeros else "glorot_uniform"
    mean = layer(
        kernel_initializer=initializer, dtype="float32", name=f"{prefix}_mean"
    )(features)
    log_var = layer(
        kernel_initializer="zeros", dtype="float32", name=f"{prefix}_log_var"
    )(features)
    return [mean, log_var]
