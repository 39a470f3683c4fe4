import math

import keras
import numpy as np
from keras import ops

from keras_vae.samplers import gaussian_mixture_em
from keras_vae.samplers.sampler import Sampler
from keras_vae.samplers.sampler import check_temperature
from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.argument_checks import check_optional_seed
from keras_vae.utils.argument_checks import check_positive_int


@keras.saving.register_keras_serializable(package="keras_vae")
class GaussianMixtureSampler(Sampler):
    """A Gaussian mixture fitted by EM to the encoded training set, after
    training: `vae.sample` draws from it instead of the prior.

    `fit(vae, x_train)` encodes `x_train` to its posterior means (a
    `HierarchicalVAE`'s top group's) and fits `num_components` Gaussians
    to them by EM in NumPy float64, from k-means seeded by greedy
    k-means++ (`seed`), as scikit-learn's `GaussianMixture` with the same
    `covariance_type`, `reg_covar`, `max_iter`, `tol` and `n_init` fits
    them (it reaches the same average log-likelihood). The fit is stored
    as non-trainable weights: `means` `(C, size)`, `scale_tril`, the
    covariances' Cholesky factors `(C, size, size)` (`"full"`), or
    `scale_diag`, the standard deviations `(C, size)` (`"diag"`), and
    `log_weights` `(C,)`, so it saves with the model. After `fit`,
    `log_likelihood` is the average log-density of the training latents
    under the mixture, `converged` and `num_iterations` how EM ended.

    `sample` picks a component by its weight and draws
    `mean_c + temperature * L_c epsilon`, in `keras.ops` and
    `keras.random`: on every backend, and inside a SavedModel.

    Args:
        num_components: `C`, an integer >= 1 (at most the number of
            training examples). Defaults to 10.
        covariance_type: `"full"` (the default: one covariance matrix per
            component) or `"diag"` (one variance per latent dimension and
            component; for large latents, where `size**2` weights per
            component are too many).
        reg_covar: A float >= 0 added to the covariances' diagonals, which
            keeps them positive definite. Defaults to `1e-6`.
        max_iter: The EM iterations of a fit, at most. Defaults to 100.
        tol: EM stops when the average log-likelihood gains less. Defaults
            to `1e-3`.
        n_init: The number of fits from different k-means++ seeds; the
            best is kept. Defaults to 1.
        seed: Optional integer seed of the fits' starts.
        **kwargs: Base `Sampler` and layer keyword arguments, such as
            `name`.

    Example:

    ```python
    sampler = keras_vae.samplers.GaussianMixtureSampler(10, seed=0)
    sampler.fit(vae, x_train)
    images = vae.sample(16, seed=0, sampler=sampler)
    vae.set_sampler(sampler)  # Saved with the model; vae.sample uses it.
    ```

    Reference:
        Ghosh et al., "From Variational to Deterministic Autoencoders",
        ICLR 2020 (ex-post density estimation); Chadebec et al., "Pythae:
        Unifying Generative Autoencoders in Python", NeurIPS 2022.
    """

    def __init__(
        self,
        num_components=10,
        covariance_type="full",
        reg_covar=1e-6,
        max_iter=100,
        tol=1e-3,
        n_init=1,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_components = check_positive_int(
            num_components, "num_components"
        )
        if covariance_type not in gaussian_mixture_em.COVARIANCE_TYPES:
            raise ValueError(
                'Invalid value for argument `covariance_type`: expected "full" '
                f'or "diag". Received: covariance_type={covariance_type!r}'
            )
        self.covariance_type = covariance_type
        self.reg_covar = check_non_negative_float(reg_covar, "reg_covar")
        self.max_iter = check_positive_int(max_iter, "max_iter")
        self.tol = check_non_negative_float(tol, "tol")
        self.n_init = check_positive_int(n_init, "n_init")
        self.seed = check_optional_seed(seed)
        self.log_likelihood = None
        self.converged = None
        self.num_iterations = None

    def build(self, input_shape):
        super().build(input_shape)
        size = math.prod(self.latent_shape)
        components = self.num_components
        self.means = self.add_weight(
            shape=(components, size),
            initializer="zeros",
            trainable=False,
            name="means",
        )
        if self.covariance_type == "full":
            self.scale_tril = self.add_weight(
                shape=(components, size, size),
                initializer=_identities,
                trainable=False,
                name="scale_tril",
            )
        else:
            self.scale_diag = self.add_weight(
                shape=(components, size),
                initializer="ones",
                trainable=False,
                name="scale_diag",
            )
        self.log_weights = self.add_weight(
            shape=(components,),
            initializer="zeros",
            trainable=False,
            name="log_weights",
        )

    def fit_latents(self, z):
        if len(z) < self.num_components:
            raise ValueError(
                f"A mixture of {self.num_components} components needs at "
                f"least as many training examples, but `x` holds {len(z)}. "
                "Fit it to more data, or use fewer components. Received: "
                f"num_components={self.num_components}"
            )
        fit = gaussian_mixture_em.fit_gaussian_mixture(
            z,
            self.num_components,
            covariance_type=self.covariance_type,
            reg_covar=self.reg_covar,
            max_iter=self.max_iter,
            tol=self.tol,
            n_init=self.n_init,
            rng=np.random.default_rng(self.seed),
        )
        self.means.assign(fit["means"].astype("float32"))
        scale = self.scale_tril if self.covariance_type == "full" else None
        scale = self.scale_diag if scale is None else scale
        scale.assign(fit["scales"].astype("float32"))
        self.log_weights.assign(np.log(fit["weights"]).astype("float32"))
        self.log_likelihood = fit["log_likelihood"]
        self.converged = fit["converged"]
        self.num_iterations = fit["num_iterations"]

    def sample(self, num_samples, seed=None, temperature=1.0):
        self._check_fitted()
        temperature = check_temperature(temperature)
        # Two draws (the component, then the noise): one generator.
        if not isinstance(seed, keras.random.SeedGenerator):
            seed = keras.random.SeedGenerator(seed)
        components = keras.random.categorical(
            ops.expand_dims(self.log_weights, 0), num_samples, seed=seed
        )[0]
        means = ops.take(self.means, components, axis=0)
        epsilon = keras.random.normal(ops.shape(means), seed=seed)
        if self.covariance_type == "full":
            # `L_c epsilon` for every component `c`, `(C, n, size)`, then
            # each draw's own by a one-hot mask (exact, unlike a gather of
            # `n` matrices of `size**2` values).
            noise = ops.einsum("cij,nj->cni", self.scale_tril, epsilon)
            mask = ops.one_hot(
                components, self.num_components, dtype=noise.dtype
            )
            noise = ops.sum(noise * ops.expand_dims(ops.transpose(mask), -1), 0)
        else:
            noise = ops.take(self.scale_diag, components, axis=0) * epsilon
        z = means + noise * temperature
        return ops.reshape(z, (-1,) + tuple(self.latent_shape))

    def get_config(self):
        return {
            **super().get_config(),
            "num_components": self.num_components,
            "covariance_type": self.covariance_type,
            "reg_covar": self.reg_covar,
            "max_iter": self.max_iter,
            "tol": self.tol,
            "n_init": self.n_init,
            "seed": self.seed,
        }


def _identities(shape, dtype=None):
    """`(C, size, size)` identity matrices: an unfitted mixture's scales."""
    components, size, _ = shape
    eye = np.broadcast_to(np.eye(size), (components, size, size))
    return ops.convert_to_tensor(eye, dtype=dtype)
