"""Deployment: a SavedModel for TF Serving, a TFLite decoder and ONNX
files."""

from keras_vae.evaluation.fixed_noise import fixed_noise_scores
from keras_vae.evaluation.fixed_noise import score_noise
from keras_vae.export.onnx import export_onnx
from keras_vae.export.saved_model import export_saved_model
from keras_vae.export.tflite import export_tflite_decoder
from keras_vae.export.warmup import write_warmup_requests

__all__ = [
    "export_onnx",
    "export_saved_model",
    "export_tflite_decoder",
    "fixed_noise_scores",
    "score_noise",
    "write_warmup_requests",
]
