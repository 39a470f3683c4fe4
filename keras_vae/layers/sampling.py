import keras
from keras import ops

from keras_vae import backend
from keras_vae.utils.argument_checks import check_optional_seed
from keras_vae.utils.log_variance import clip_log_variance


@keras.saving.register_keras_serializable(package="keras_vae")
class Sampling(keras.layers.Layer):
    """Draws `z ~ N(z_mean, exp(z_log_var))` with the reparameterization trick.

    The draw is `z = z_mean + exp(0.5 * z_log_var) * epsilon` with
    `epsilon ~ N(0, I)`, so gradients flow to `z_mean` and `z_log_var`. The
    noise comes from a `keras.random.SeedGenerator`, so every step of a
    compiled (`jit_compile=True`) `fit` draws fresh noise, and a layer built
    with the same `seed` draws the same sequence. Under a `tf.distribute`
    strategy each replica folds its replica id into the seed, so replicas
    draw different noise (see `keras_vae.backend.replica_normal`).

    `z_log_var` is clipped to `[-30, 20]` first, with a straight-through
    gradient (see `keras_vae.utils.log_variance`), so an extreme encoder
    output gives a finite `z` and finite gradients.

    Args:
        seed: Optional integer, the seed of the noise sequence.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A list or tuple `(z_mean, z_log_var)` of two tensors of the
            same shape `(batch_size, ...)`.

    Returns:
        A tensor `z` of the same shape as `z_mean`.

    Example:

    ```python
    >>> z_mean = keras.ops.zeros((4, 2))
    >>> z_log_var = keras.ops.zeros((4, 2))
    >>> z = Sampling(seed=0)([z_mean, z_log_var])
    >>> tuple(z.shape)
    (4, 2)

    ```
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = check_optional_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        check_pair_shapes(input_shape, self.name)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        epsilon = backend.replica_normal(
            ops.shape(z_mean), z_mean.dtype, self.seed_generator
        )
        z_log_var = clip_log_variance(z_log_var)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


def check_pair_shapes(input_shape, layer_name):
    """Checks that a layer got `(z_mean, z_log_var)` of one shape."""
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
        raise ValueError(
            f"Layer '{layer_name}' expects a list of two tensors "
            f"`[z_mean, z_log_var]`. Received: input_shape={input_shape}"
        )
    mean_shape, log_var_shape = (tuple(s) for s in input_shape)
    if mean_shape[1:] != log_var_shape[1:]:
        raise ValueError(
            f"Layer '{layer_name}' expects `z_mean` and `z_log_var` of the "
            f"same shape. Received: z_mean.shape={mean_shape}, "
            f"z_log_var.shape={log_var_shape}"
        )
