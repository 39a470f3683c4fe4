import keras

from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.argument_checks import check_positive_int


class KLWarmup(keras.callbacks.Callback):
    """Raises the KL weight `beta` linearly from `start_beta` to its target.

    When training starts it sets the model's schedule (`VAE.set_kl_warmup`):
    before every step, inside the compiled program, the step assigns
    `beta = start + (target - start) * min(1, step / warmup_steps)` to each
    `KLDivergenceLayer`, where `step` is `optimizer.iterations`. The
    schedule is exact for any `steps_per_execution`, never retraces the
    step, and is saved with the model, so a run resumed from a checkpoint
    (e.g. `keras.callbacks.BackupAndRestore`) continues where it stopped.

    Args:
        warmup_steps: Number of optimizer steps to reach the target; give
            this or `warmup_epochs`.
        warmup_epochs: Number of epochs to reach the target (converted to
            steps with the steps per epoch of `fit`).
        target_beta: The final `beta`. Defaults to `1.0` (the ELBO).
        start_beta: The `beta` of the first step. Defaults to `0.0`.

    Example:

    ```python
    vae.fit(x_train, epochs=10, callbacks=[KLWarmup(warmup_epochs=5)])
    ```

    Reference:
        Bowman et al., "Generating Sentences from a Continuous Space",
        CoNLL 2016; Sønderby et al., "Ladder Variational Autoencoders",
        NeurIPS 2016.
    """

    def __init__(
        self,
        warmup_steps=None,
        warmup_epochs=None,
        target_beta=1.0,
        start_beta=0.0,
    ):
        super().__init__()
        if (warmup_steps is None) == (warmup_epochs is None):
            raise ValueError(
                "Pass exactly one of `warmup_steps` and `warmup_epochs`. "
                f"Received: warmup_steps={warmup_steps}, "
                f"warmup_epochs={warmup_epochs}"
            )
        if warmup_steps is not None:
            warmup_steps = check_positive_int(warmup_steps, "warmup_steps")
        if warmup_epochs is not None:
            warmup_epochs = check_positive_int(warmup_epochs, "warmup_epochs")
        target_beta = check_non_negative_float(target_beta, "target_beta")
        start_beta = check_non_negative_float(start_beta, "start_beta")
        self.warmup_steps = warmup_steps
        self.warmup_epochs = warmup_epochs
        self.target_beta = target_beta
        self.start_beta = start_beta

    def on_train_begin(self, logs=None):
        if not getattr(self.model, "kl_layers", None):
            raise ValueError(
                "KLWarmup needs a keras_vae.VAE with a `KLDivergenceLayer`. "
                f"Received: model={self.model.name!r}"
            )
        steps = self.warmup_steps
        if steps is None:
            steps = self.warmup_epochs * (self.params.get("steps") or 1)
        self.model.set_kl_warmup(steps, self.start_beta, self.target_beta)

    def get_config(self):
        return {
            "warmup_steps": self.warmup_steps,
            "warmup_epochs": self.warmup_epochs,
            "target_beta": self.target_beta,
            "start_beta": self.start_beta,
        }
