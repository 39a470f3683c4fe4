"""The stability defaults of `build_hierarchical_vae` and
`build_hierarchical_mlp_vae`, measured on the CIFAR-10 recipe of
docs/benchmarks/cifar10.md (see its notes).

A `HierarchicalVAE` sums its loss over the data's values (nats per
example), so its gradient norms grow with the size of an example: the
clipping threshold is set per value, as VDVAE sets it on its loss per
dimension (Child, 2021: clip at 200), times the values of one example.
"""

import math

#: The soft clamp of every posterior and prior log-variance: variances
#: within `e^±7`.
LOG_VARIANCE_BOUND = 7.0
#: The global gradient-norm clip, per value of one example.
CLIP_GRADIENT_NORM_PER_VALUE = 200.0
#: Updates with a non-finite gradient norm are skipped; a finite threshold
#: would end by skipping every update of a run whose norms grow as its
#: pixel log-scales sharpen (50 times in its first three CIFAR-10 epochs).
SKIP_GRADIENT_NORM = math.inf


def clip_gradient_norm_for(clip_gradient_norm, input_shape):
    """`clip_gradient_norm` as the builders pass it on: `"auto"` is
    `CLIP_GRADIENT_NORM_PER_VALUE` times the values of one example (614,400
    for 32x32x3 images), anything else as given."""
    if isinstance(clip_gradient_norm, str) and clip_gradient_norm == "auto":
        return CLIP_GRADIENT_NORM_PER_VALUE * math.prod(input_shape)
    return clip_gradient_norm
