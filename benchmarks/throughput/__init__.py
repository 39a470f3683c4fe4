"""Training throughput of keras-vae on each Keras backend, and of plain
PyTorch and JAX loops training the same VAEs.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python -m benchmarks.throughput

- `__main__`: the benchmark (the parent, and every worker run as
  `python -m benchmarks.throughput --worker ...`);
- `common`: what the workers share (data, sizes, the parent protocol);
- `jax_loop`, `torch_loop`: the reference loops in plain JAX and PyTorch.

The tables go to docs/benchmarks/performance*.md.
"""
