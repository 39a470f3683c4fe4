import math
import weakref

import keras
import numpy as np
from keras import ops

from keras_vae.priors.gaussian_mixture import mixture_log_prob
from keras_vae.priors.gaussian_mixture import mixture_sample
from keras_vae.priors.prior import Prior
from keras_vae.utils.argument_checks import check_optional_seed
from keras_vae.utils.argument_checks import check_positive_int


@keras.saving.register_keras_serializable(package="keras_vae")
class VampPrior(Prior):
    """The VampPrior: the mixture of the VAE's own posteriors at learned
    pseudo-inputs, `p(z) = (1/K) sum_k q(z | u_k)`.

    The `K` pseudo-inputs `u_k` are weights of this prior, in the units the
    encoder sees (after the model's preprocessing: in [0, 1] for images),
    trained with the VAE; their posteriors come from the model's encoder,
    so the prior follows the encoder as it learns. It approximates the
    optimal prior, the aggregate posterior `(1/N) sum_n q(z | x_n)`, at the
    cost of encoding the `K` pseudo-inputs at every training step.

    The pseudo-inputs start at `N(0.05, 0.01^2)` per value (Tomczak and
    Welling's default), or at examples of the training data with
    `initialize_from(x_train)` (their other option, which breaks the
    symmetry of `K` nearly equal pseudo-inputs from the start), and are
    clipped to `pseudo_input_range` (their hard tanh); pass
    `pseudo_input_range=None` for data standardized by a
    `keras.layers.Normalization`, whose units have no bounds.

    The prior needs an encoder of `x` alone: a `ConditionalVAE` (whose
    encoder takes labels too) refuses it. For a `HierarchicalVAE` it is the
    prior of the top group, through the top group's posterior.

    Args:
        num_pseudo_inputs: `K`, an integer >= 1 (500 in the paper's MNIST
            experiments).
        pseudo_input_range: `(low, high)` to clip the pseudo-inputs to, or
            `None`. Defaults to `(0.0, 1.0)`.
        seed: Optional integer seed of the pseudo-inputs' initial values.
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    ```python
    vae = keras_vae.build_mlp_vae(
        latent_dim=40, prior=keras_vae.priors.VampPrior(500))
    ```

    Reference:
        Tomczak and Welling, "VAE with a VampPrior", AISTATS 2018.
    """

    def __init__(
        self,
        num_pseudo_inputs=500,
        pseudo_input_range=(0.0, 1.0),
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_pseudo_inputs = check_positive_int(
            num_pseudo_inputs, "num_pseudo_inputs"
        )
        if pseudo_input_range is not None:
            try:
                low, high = (float(v) for v in pseudo_input_range)
                valid = low < high
            except (TypeError, ValueError):
                valid = False
            if not valid:
                raise ValueError(
                    "Invalid value for argument `pseudo_input_range`: "
                    "expected None or `(low, high)` with low < high. "
                    f"Received: pseudo_input_range={pseudo_input_range!r}"
                )
            pseudo_input_range = (low, high)
        self.pseudo_input_range = pseudo_input_range
        self.seed = check_optional_seed(seed)
        self._model = None

    def set_model(self, model):
        encoder_inputs = getattr(model.encoder, "inputs", None) or []
        if len(encoder_inputs) != 1:
            raise ValueError(
                "A VampPrior encodes its pseudo-inputs with the model's "
                "encoder, which must take `x` alone; this one takes "
                f"{len(encoder_inputs)} inputs (a ConditionalVAE's takes "
                "labels too). Use a `MixtureOfGaussians` prior instead. "
                f"Received: model={type(model).__name__}"
            )
        # Weakly: the model tracks this prior, and a strong reference back
        # would make a cycle of layers.
        self._model = weakref.ref(model)
        self.data_shape = tuple(model.data_shape)

    def build(self, input_shape):
        if self._model is None:
            raise ValueError(
                "A VampPrior is built by the VAE that owns it, which gives "
                "it its encoder: pass it as `prior=` to a VAE or a builder. "
                f"Received: build(input_shape={input_shape})"
            )
        super().build(input_shape)
        self.pseudo_inputs = self.add_weight(
            shape=(self.num_pseudo_inputs,) + self.data_shape,
            initializer=keras.initializers.RandomNormal(
                mean=0.05, stddev=0.01, seed=self.seed
            ),
            name="pseudo_inputs",
        )

    def initialize_from(self, x, seed=None):
        """Sets the pseudo-inputs to `num_pseudo_inputs` examples of `x`
        (the data in its own units, as the model takes it), chosen at
        random without replacement: the initialization from training data
        of Tomczak and Welling, which starts the prior as the mixture of
        real examples' posteriors instead of `K` nearly equal ones (whose
        symmetry training breaks only slowly).

        Args:
            x: An array of at least `num_pseudo_inputs` examples of the
                model's data shape.
            seed: Optional integer seed of the choice.
        """
        model = self._model()
        x = np.asarray(x)
        if x.shape[1:] != self.data_shape or len(x) < self.num_pseudo_inputs:
            raise ValueError(
                f"`x` must hold at least {self.num_pseudo_inputs} examples "
                f"of shape {self.data_shape}, the model's data. Received: "
                f"x.shape={x.shape}"
            )
        rng = np.random.default_rng(check_optional_seed(seed))
        chosen = rng.choice(len(x), self.num_pseudo_inputs, replace=False)
        u = model.to_model_units(x[np.sort(chosen)].astype("float32"))
        self.pseudo_inputs.assign(ops.cast(u, self.pseudo_inputs.dtype))

    def pseudo_input_values(self):
        """The pseudo-inputs as the encoder sees them, clipped to
        `pseudo_input_range`."""
        u = ops.convert_to_tensor(self.pseudo_inputs)
        if self.pseudo_input_range is None:
            return u
        return ops.clip(u, *self.pseudo_input_range)

    def components(self):
        """`[mean, log_var]` of each pseudo-input's posterior, shape
        `(K, size)` each: the mixture's components, flattened."""
        model = self._model()
        inputs = model.to_data_units(self.pseudo_input_values())
        mean, log_var = model.top_posterior_params(inputs)
        k = self.num_pseudo_inputs
        return [
            ops.reshape(ops.cast(t, "float32"), (k, -1))
            for t in (mean, log_var)
        ]

    def log_prob(self, z):
        mean, log_var = self.components()
        # Equal weights: 1/K each.
        k = self.num_pseudo_inputs
        log_weights = ops.full((k,), -math.log(k), dtype=z.dtype)
        return mixture_log_prob(z, mean, log_var, log_weights)

    def sample(self, num_samples, seed=None, temperature=1.0):
        # Two draws (the pseudo-input, then the noise): one generator.
        if not isinstance(seed, keras.random.SeedGenerator):
            seed = keras.random.SeedGenerator(seed)
        mean, log_var = self.components()
        chosen = keras.random.randint(
            (num_samples,), 0, self.num_pseudo_inputs, seed=seed
        )
        return mixture_sample(
            mean, log_var, chosen, self.latent_shape, seed, temperature
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_pseudo_inputs": self.num_pseudo_inputs,
            "pseudo_input_range": self.pseudo_input_range,
            "seed": self.seed,
        }
