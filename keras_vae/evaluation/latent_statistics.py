import numpy as np


def active_units(vae, x, threshold=0.01, batch_size=256):
    """Counts the latent dimensions the model uses, by Burda's test.

    A dimension `u` is active when `Cov_x(E_q(u|x)[u]) > threshold`: its
    posterior mean varies across the data.

    Args:
        vae: A `keras_vae.VAE`.
        x: Data, an array of shape `(n,) + vae.data_shape`.
        threshold: The variance above which a unit counts as active.
        batch_size: Examples encoded at once.

    Returns:
        `(count, variances)`: the number of active units and the variance
        of each latent dimension's posterior mean, flattened.

    Reference:
        Burda, Grosse and Salakhutdinov, "Importance Weighted
        Autoencoders", ICLR 2016, section 5.2.
    """
    z_mean, _ = vae.encode(x, batch_size=batch_size)
    variances = np.var(z_mean.reshape(len(z_mean), -1).astype("float64"), 0)
    return int(np.sum(variances > threshold)), variances


def kl_per_dimension(vae, x, batch_size=256):
    """Returns the mean over `x` of `KL(q(z_u|x) || N(0, 1))` for each latent
    dimension `u`, in nats, as a flat float64 array."""
    z_mean, z_log_var = vae.encode(x, batch_size=batch_size)
    mu = z_mean.reshape(len(z_mean), -1).astype("float64")
    log_var = z_log_var.reshape(len(z_log_var), -1).astype("float64")
    kl = -0.5 * (1.0 + log_var - mu**2 - np.exp(log_var))
    return kl.mean(axis=0)
