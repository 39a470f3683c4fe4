"""Likelihood benchmarks: what the models reach, and what the scores are
worth.

- `mnist_nll`: test NLL on dynamically binarized MNIST against training
  minutes (docs/benchmarks/mnist_nll.md,
  docs/benchmarks/mnist_nll_hierarchical.md);
- `cifar10_bits`: CIFAR-10 test bits per dimension against training
  minutes (docs/benchmarks/cifar10.md);
- `anomaly`: AUROC of anomaly scores on a held-out MNIST digit and on
  malignant tumours (docs/benchmarks/anomaly.md).

Run from the repository root, e.g.
`python -m benchmarks.likelihood.mnist_nll --help`.
"""
