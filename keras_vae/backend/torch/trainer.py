"""The training and test steps of a VAE on PyTorch: eager autograd, as
Keras's PyTorch trainer runs them."""

import torch

from keras_vae.backend.common import KerasLoopTrainer


class TorchTrainer(KerasLoopTrainer):
    """The PyTorch half of `keras_vae.VAE`'s training loop.

    It runs the model's backend-neutral steps (see
    `keras_vae.backend.trainer.Trainer`) eagerly: the loss terms, the
    gradients by `backward()`, the update without autograd, then the
    metrics.
    """

    def train_step(self, data):
        inputs = self.step_inputs(data)
        self.apply_kl_warmup()
        self.zero_grad()
        terms = self.compute_loss_terms(inputs, training=True)
        gradients = []
        if self.trainable_weights:  # A frozen model has no graph to walk.
            self.optimizer.scale_loss(terms["loss"]).backward()
            gradients = [v.value.grad for v in self.trainable_weights]
        with torch.no_grad():
            update = self.apply_update(gradients)
            return self.update_metrics(inputs, terms, update)

    def test_step(self, data):
        inputs = self.step_inputs(data)
        with torch.no_grad():
            terms = self.compute_loss_terms(inputs, training=False)
            return self.update_metrics(inputs, terms)

    def _check_backend_runs(self, jit_compile):
        super()._check_backend_runs(jit_compile)
        if jit_compile is True:
            # Measured with torch 2.13: the step graph-breaks at Keras's
            # seeded random ops (`torch.compiler.disable`d) and recompiles
            # at every batch on the loss tensors `add_loss` recreates, until
            # torch falls back to eager, warning, at its recompile limit.
            raise ValueError(
                "`jit_compile=True` runs the step through `torch.compile` on "
                "the PyTorch backend, which cannot compile a VAE's step: it "
                "breaks at Keras's seeded noise and recompiles at every "
                "batch on the KL that `add_loss` adds, ending slower than "
                "eager. Leave `jit_compile` out (PyTorch then steps "
                "eagerly), or train with KERAS_BACKEND=jax or tensorflow "
                "for a compiled step. Received: jit_compile=True"
            )

    def _default_steps_per_execution(self):
        # Keras's PyTorch trainer takes only 1 (it refuses more).
        return 1
