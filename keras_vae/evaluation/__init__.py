"""Evaluation of a trained VAE: importance-sampled log-likelihood and
latent statistics."""

from keras_vae.evaluation.latent_statistics import active_units
from keras_vae.evaluation.latent_statistics import kl_per_dimension
from keras_vae.evaluation.log_likelihood import log_likelihood

__all__ = ["active_units", "kl_per_dimension", "log_likelihood"]
