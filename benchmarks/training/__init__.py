"""Training benchmarks: how training scales, streams and runs in reduced
precision.

- `scaling`: batch size and dataset size, in memory and streamed from
  TFRecord files (docs/benchmarks/scaling.md);
- `streaming`: memory and speed of `keras_vae.datasets.image_folder` on
  CIFAR-10 JPEGs (docs/benchmarks/streaming.md);
- `streaming_fit`: training on a streamed image folder against the same
  images in memory (docs/benchmarks/streaming_fit.md);
- `mixed_precision`: the final training loss under float32,
  mixed_float16 and mixed_bfloat16 (docs/benchmarks/mixed_precision.md);
- `callback_recompiles`: three successive `fit` calls with a per-batch
  callback against one step per execution
  (docs/benchmarks/callback_recompiles.md).

Run from the repository root, e.g.
`python -m benchmarks.training.scaling --help`.
"""
