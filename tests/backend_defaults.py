"""What `VAE.compile` chooses by default on the backend the tests run on."""

import keras
import pytest

#: `steps_per_execution`: 32 on TensorFlow and JAX; Keras's PyTorch
#: trainer takes only 1.
STEPS_PER_EXECUTION = 1 if keras.backend.backend() == "torch" else 32

#: `jit_compile` for a model without convolutions: XLA on TensorFlow and
#: JAX; PyTorch steps eagerly.
JIT_COMPILE = keras.backend.backend() != "torch"

#: Marks a test of several steps per execution, which Keras's PyTorch
#: trainer does not run.
MULTI_STEP = pytest.mark.skipif(
    keras.backend.backend() == "torch",
    reason="Keras's PyTorch trainer runs one step per execution",
)
