"""Keras callbacks for VAE training."""

from keras_vae.callbacks.backup_and_restore import BackupAndRestore
from keras_vae.callbacks.consecutive_skips_check import ConsecutiveSkipsCheck
from keras_vae.callbacks.image_snapshots import ImageSnapshots
from keras_vae.callbacks.kl_warmup import KLWarmup
from keras_vae.callbacks.progbar_logger import ProgbarLogger
from keras_vae.callbacks.terminate_on_nan import TerminateOnNaN
from keras_vae.callbacks.vae_tensorboard import VAETensorBoard

__all__ = [
    "BackupAndRestore",
    "ConsecutiveSkipsCheck",
    "ImageSnapshots",
    "KLWarmup",
    "ProgbarLogger",
    "TerminateOnNaN",
    "VAETensorBoard",
]
