"""Evaluation of a trained VAE: importance-sampled log-likelihood, anomaly
scores (per example, and per time step of a series), latent statistics and
the quality of its samples."""

from keras_vae.evaluation.anomaly_scores import anomaly_scores
from keras_vae.evaluation.anomaly_scores import anomaly_threshold
from keras_vae.evaluation.anomaly_scores import auroc
from keras_vae.evaluation.anomaly_scores import bits_per_dim
from keras_vae.evaluation.feature_models import feature_model
from keras_vae.evaluation.frechet_distance import frechet_distance
from keras_vae.evaluation.latent_statistics import active_units
from keras_vae.evaluation.latent_statistics import kl_per_dimension
from keras_vae.evaluation.log_likelihood import log_likelihood
from keras_vae.evaluation.sample_quality import sample_quality
from keras_vae.evaluation.step_scores import point_scores

__all__ = [
    "active_units",
    "anomaly_scores",
    "anomaly_threshold",
    "auroc",
    "bits_per_dim",
    "feature_model",
    "frechet_distance",
    "kl_per_dimension",
    "log_likelihood",
    "point_scores",
    "sample_quality",
]
