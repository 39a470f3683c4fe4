"""The widest float JAX computes in."""

import jax


def wide_float():
    """`"float64"` if JAX runs with 64-bit types (`jax_enable_x64`), else
    `"float32"`: JAX truncates a requested float64 to float32 by default,
    and the package does not change that process-wide setting for the
    user."""
    return "float64" if jax.config.jax_enable_x64 else "float32"
