"""Keras callbacks for VAE training."""

from keras_vae.callbacks.backup_and_restore import BackupAndRestore
from keras_vae.callbacks.image_snapshots import ImageSnapshots
from keras_vae.callbacks.kl_warmup import KLWarmup

__all__ = ["BackupAndRestore", "ImageSnapshots", "KLWarmup"]
