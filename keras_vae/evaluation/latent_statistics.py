import numpy as np

from keras_vae.utils.batches import in_batches


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
    """Returns the mean over `x` of `KL(q(z_u|x) || p(z_u))` for each latent
    dimension `u`, in nats, as a flat float64 array.

    The prior is `N(0, 1)`; for a `keras_vae.HierarchicalVAE`, each group's
    `p(z_i | z_<i)` given the posterior means of the groups above (the path
    of `encode`). A prior that is no diagonal Gaussian (a mixture, a
    VampPrior) has no KL per dimension: it raises a `ValueError`."""
    inputs = vae.model_inputs(x)

    def prior_batch(batch):
        params = vae.prior_params(batch)
        if params is None:
            raise ValueError(
                "The KL per latent dimension needs a prior that is a "
                "diagonal Gaussian over each dimension (N(0, I)); this "
                "model's is not. Use `active_units` to see which dimensions "
                f"it uses. Received: prior={type(vae.prior).__name__}"
            )
        return params

    z_mean, z_log_var = vae.encode(x, batch_size=batch_size)
    p_mean, p_log_var = in_batches(prior_batch, inputs, batch_size)
    mu, log_var, p_mu, p_log_var = (
        t.reshape(len(t), -1).astype("float64")
        for t in (z_mean, z_log_var, p_mean, p_log_var)
    )
    kl = 0.5 * (
        p_log_var
        - log_var
        + (np.exp(log_var) + (mu - p_mu) ** 2) / np.exp(p_log_var)
        - 1.0
    )
    return kl.mean(axis=0)
