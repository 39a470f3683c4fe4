"""Keras callbacks for VAE training."""

from keras_vae.callbacks.kl_warmup import KLWarmup

__all__ = ["KLWarmup"]
