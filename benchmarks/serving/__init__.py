"""Serving benchmarks: exported models at inference time.

- `serving_load`: a SavedModel called from many threads at once with
  TensorFlow alone (docs/guides/serving.md);
- `decoder_latency`: decoder latency in Keras, a SavedModel and each TFLite
  variant (docs/benchmarks/deployment_benchmark.md).

Run from the repository root, e.g.
`python -m benchmarks.serving.serving_load --help`.
"""
