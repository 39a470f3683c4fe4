"""The benchmarks of keras-vae: speed, likelihood, serving and training.

One folder per family, each a package of scripts run as modules from the
repository root (the folder that holds this package):

- `throughput`: training throughput of keras-vae on each Keras backend
  against plain PyTorch and JAX loops (`python -m benchmarks.throughput`);
- `likelihood`: test NLL on MNIST (`mnist_nll`), CIFAR-10 bits per
  dimension (`cifar10_bits`), anomaly scores (`anomaly`);
- `serving`: a SavedModel under concurrent load (`serving_load`), decoder
  latency per deployment runtime (`decoder_latency`);
- `training`: batch and dataset size (`scaling`), streaming an image folder
  (`streaming`, `streaming_fit`), mixed precision (`mixed_precision`).

`machine.py` holds what they share: the machine description, the command
line that reproduces a run, writing a report, worker processes.

Run one with

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.<group>.<name> --help

Workers run in their own processes as `python -m benchmarks....`, with the
repository root put on their PYTHONPATH. Each benchmark writes its report,
with the command that produced it, to docs/benchmarks/ (see `--output`).
"""
