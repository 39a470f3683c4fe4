"""What differs between Keras's backends, one package per backend, as
Keras keeps its own trainers (`keras/src/backend/<name>/trainer.py`).

`Trainer` is the training half of `keras_vae.VAE` for the backend Keras
runs on (`keras.backend.backend()`), `replica_normal` its draw of
standard normal noise (different on every replica of a `tf.distribute`
strategy), and `inference_function` compiles an inference function where
the backend can with the model's variables as they are (a `tf.function`
on TensorFlow). `wide_float()` is the float dtype of the estimates that
need more than float32 where the backend has one (float64; on JAX only
with `jax_enable_x64`).
"""

import keras

BACKEND = keras.backend.backend()

if BACKEND == "tensorflow":
    from keras_vae.backend.common import wide_float
    from keras_vae.backend.tensorflow.distribute import replica_normal
    from keras_vae.backend.tensorflow.functions import inference_function
    from keras_vae.backend.tensorflow.trainer import (
        TensorFlowTrainer as Trainer,
    )
elif BACKEND == "jax":
    from keras_vae.backend.common import inference_function
    from keras_vae.backend.common import replica_normal
    from keras_vae.backend.jax.precision import wide_float
    from keras_vae.backend.jax.trainer import JAXTrainer as Trainer
elif BACKEND == "torch":
    from keras_vae.backend.common import inference_function
    from keras_vae.backend.common import replica_normal
    from keras_vae.backend.common import wide_float
    from keras_vae.backend.torch.trainer import TorchTrainer as Trainer
else:
    raise ImportError(
        "keras-vae runs on Keras's TensorFlow, JAX and PyTorch backends. "
        "Set KERAS_BACKEND to one of them. Received: "
        f"backend={BACKEND!r}"
    )

__all__ = [
    "BACKEND",
    "Trainer",
    "inference_function",
    "replica_normal",
    "wide_float",
]
