"""`keras-vae export` runs on TensorFlow, whatever `KERAS_BACKEND` says."""

import os
import sys


def use_tensorflow_to_export():
    """Sets `KERAS_BACKEND=tensorflow` for a `keras-vae export` process,
    before Keras is imported: the SavedModel and the TFLite file are
    TensorFlow's, and a `.keras` file trained on any backend loads there.
    Other commands keep the backend the user chose."""
    if sys.argv[1:2] == ["export"] and "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = "tensorflow"
