import keras
from keras import ops

from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.utils.log_variance import clip_log_variance


def diagonal_gaussian_kl_divergence(
    q_mean, q_log_var, p_mean, p_log_var, reduce=True
):
    """KL(N(q_mean, exp(q_log_var)) || N(p_mean, exp(p_log_var))), in nats.

    The closed form between two diagonal Gaussians,
    `0.5 * (p_log_var - q_log_var + exp(q_log_var - p_log_var)
    + (q_mean - p_mean)**2 * exp(-p_log_var) - 1)`, computed in float32
    and summed over every axis but the first (or, with `reduce=False`,
    left per latent dimension). Both log-variances are clipped to
    `[-30, 20]` with a straight-through gradient, as everywhere in
    keras-vae. With `p = N(0, I)` it is `gaussian_kl_divergence`.
    """
    q_mean, q_log_var, p_mean, p_log_var = (
        ops.cast(t, "float32") for t in (q_mean, q_log_var, p_mean, p_log_var)
    )
    q_log_var = clip_log_variance(q_log_var)
    p_log_var = clip_log_variance(p_log_var)
    kl = 0.5 * (
        p_log_var
        - q_log_var
        + ops.exp(q_log_var - p_log_var)
        + ops.square(q_mean - p_mean) * ops.exp(-p_log_var)
        - 1.0
    )
    if not reduce:
        return kl
    return ops.sum(kl, axis=tuple(range(1, len(kl.shape))))


@keras.saving.register_keras_serializable(package="keras_vae")
class GroupKLDivergenceLayer(KLDivergenceLayer):
    """Adds the KL divergence of one latent group's posterior from its prior.

    For a group `z_i` of a hierarchical VAE, with posterior
    `q(z_i | x, z_<i) = N(q_mean, exp(q_log_var))` and prior
    `p(z_i | z_<i) = N(p_mean, exp(p_log_var))`, both diagonal and both
    computed from the same draw of the groups above, the layer calls
    `add_loss` with `beta * mean_over_batch(KL)`, where `KL` is the closed
    form of `diagonal_gaussian_kl_divergence` summed over the group. It
    returns the KL of each example, in nats, unweighted.

    `beta` is a non-trainable variable, as in `KLDivergenceLayer` (which
    this layer extends, so `VAE.set_kl_warmup` schedules it).

    With `free_bits=λ > 0`, the group's KL, averaged over the batch,
    counts as at least `λ` nats in the loss:
    `beta * max(λ, mean_over_batch(KL))`, the per-group free bits of
    Kingma et al. (2016) and the LVAE/NVAE literature. Note the
    difference from `KLDivergenceLayer`, whose floor is per latent
    dimension: a group of a hierarchy holds thousands of dimensions, and
    a floor on each would keep every one of them from collapsing.

    Args:
        beta: Non-negative float, the weight of the KL term (1 gives the
            ELBO). Defaults to `1.0`.
        free_bits: Non-negative float `λ`, the KL floor of the group in
            nats. Defaults to `0.0` (off).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A list or tuple `(q_mean, q_log_var, p_mean, p_log_var)`
            of four tensors of the same shape `(batch_size, ...)`.

    Returns:
        The KL of each example, shape `(batch_size,)`, float32.

    Example:

    ```python
    >>> layer = GroupKLDivergenceLayer(beta=1.0)
    >>> ones, zeros = keras.ops.ones((2, 3)), keras.ops.zeros((2, 3))
    >>> kl = layer([ones, zeros, zeros, zeros])  # 0.5 * 3 per example
    >>> [round(float(v), 4) for v in kl]
    [1.5, 1.5]

    ```

    Reference:
        Sønderby et al., "Ladder Variational Autoencoders", NeurIPS 2016;
        Kingma et al., "Improved Variational Inference with Inverse
        Autoregressive Flow", NeurIPS 2016 (free bits).
    """

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 4:
            raise ValueError(
                f"Layer '{self.name}' expects a list of four tensors "
                "`[q_mean, q_log_var, p_mean, p_log_var]`. Received: "
                f"input_shape={input_shape}"
            )
        shapes = [tuple(s)[1:] for s in input_shape]
        if any(s != shapes[0] for s in shapes):
            raise ValueError(
                f"Layer '{self.name}' expects `q_mean`, `q_log_var`, "
                "`p_mean` and `p_log_var` of the same shape. Received: "
                f"input_shape={input_shape}"
            )

    def call(self, inputs):
        kl = diagonal_gaussian_kl_divergence(*inputs)
        mean_kl = ops.mean(kl)
        if self.free_bits:
            mean_kl = ops.maximum(mean_kl, self.free_bits)
        self.add_loss(self.beta_variable * mean_kl)
        return kl

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0],)
