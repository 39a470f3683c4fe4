"""Keras callbacks for VAE training."""

from keras_vae.callbacks.image_snapshots import ImageSnapshots
from keras_vae.callbacks.kl_warmup import KLWarmup

__all__ = ["ImageSnapshots", "KLWarmup"]
