"""keras-vae: variational autoencoders that train with `model.fit(x)`."""

from keras_vae import program_start

# Before Keras imports TensorFlow, and only when this process is the
# `keras-vae` program (keras_vae/program_start.py).
program_start.start_program()

from keras_vae import callbacks  # noqa: E402
from keras_vae import datasets  # noqa: E402
from keras_vae import evaluation  # noqa: E402
from keras_vae import export  # noqa: E402
from keras_vae import layers  # noqa: E402
from keras_vae import likelihoods  # noqa: E402
from keras_vae import priors  # noqa: E402
from keras_vae import samplers  # noqa: E402
from keras_vae.builders import build_conv_vae  # noqa: E402
from keras_vae.builders import build_hierarchical_mlp_vae  # noqa: E402
from keras_vae.builders import build_hierarchical_vae  # noqa: E402
from keras_vae.builders import build_mlp_vae  # noqa: E402
from keras_vae.builders import build_resnet_vae  # noqa: E402
from keras_vae.builders import build_sequence_vae  # noqa: E402
from keras_vae.export import export_onnx  # noqa: E402
from keras_vae.export import export_saved_model  # noqa: E402
from keras_vae.export import export_tflite_decoder  # noqa: E402
from keras_vae.models import VAE  # noqa: E402
from keras_vae.models import ConditionalVAE  # noqa: E402
from keras_vae.models import HierarchicalVAE  # noqa: E402
from keras_vae.saving import load_vae  # noqa: E402
from keras_vae.version import __version__  # noqa: E402

__all__ = [
    "ConditionalVAE",
    "HierarchicalVAE",
    "VAE",
    "__version__",
    "build_conv_vae",
    "build_hierarchical_mlp_vae",
    "build_hierarchical_vae",
    "build_mlp_vae",
    "build_resnet_vae",
    "build_sequence_vae",
    "callbacks",
    "datasets",
    "evaluation",
    "export",
    "export_onnx",
    "export_saved_model",
    "export_tflite_decoder",
    "layers",
    "likelihoods",
    "load_vae",
    "priors",
    "samplers",
]
