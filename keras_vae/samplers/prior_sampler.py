import weakref

import keras

from keras_vae.samplers.sampler import Sampler
from keras_vae.samplers.sampler import check_temperature


@keras.saving.register_keras_serializable(package="keras_vae")
class PriorSampler(Sampler):
    """Draws `z` from the model's own prior, `vae.prior`: what `vae.sample`
    does without a sampler (ancestrally, group by group, for a
    `keras_vae.HierarchicalVAE`).

    It has no weights and nothing to fit, and works with any model: pass
    it where a sampler is expected to sample from the prior, e.g.
    `vae.sample(n, sampler=PriorSampler())` on a model that has another
    sampler attached. The VAE that samples with it calls `set_model`;
    before that it knows no prior to draw from.

    Args:
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    ```python
    sampler = keras_vae.samplers.PriorSampler()
    # The same images as vae.sample(16, seed=0) without a sampler:
    images = vae.sample(16, seed=0, sampler=sampler)
    ```
    """

    def __init__(self, **kwargs):
        kwargs.pop("latent_shape", None)
        kwargs.pop("fingerprint", None)
        super().__init__(**kwargs)
        self._model = None

    @property
    def fitted(self):
        # The prior is part of the model: there is nothing to fit.
        return True

    def fit(self, vae, x=None, labels=None, batch_size=256):
        """Does nothing but remember `vae`, whose prior is fitted already;
        returns the sampler."""
        self.set_model(vae)
        return self

    def fit_latents(self, z):
        pass

    def set_model(self, vae):
        # A weak reference: the model owns the sampler, not the other way.
        self._model = weakref.ref(vae)

    def check_model(self, vae):
        # Any model's prior will do.
        pass

    def sample(self, num_samples, seed=None, temperature=1.0):
        vae = None if self._model is None else self._model()
        if vae is None:
            raise ValueError(
                "A PriorSampler draws from a model's prior, and knows none "
                "yet: sample through the model, `vae.sample(n, "
                "sampler=sampler)`, or call `sampler.set_model(vae)`. "
                "Received: a PriorSampler without a model"
            )
        temperature = check_temperature(temperature)
        prior = vae.prior
        if isinstance(temperature, float) and temperature == 1:
            return prior.sample(num_samples, seed=seed)
        if not prior.takes_temperature():
            raise ValueError(
                f"The prior {type(prior).__name__} samples at no other "
                "temperature than 1: its `sample` takes no `temperature`. "
                f"Received: temperature={temperature}"
            )
        return prior.sample(num_samples, seed=seed, temperature=temperature)

    def get_config(self):
        config = super().get_config()
        # Nothing fitted to keep.
        del config["latent_shape"], config["fingerprint"]
        return config
