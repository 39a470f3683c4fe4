"""Saves the `.keras` files of tests/models/test_legacy_files.py, and the
outputs they gave when saved.

Run once, on the main of 2026-12-06 (commit 318b54d), before the VAE's
classes were rewritten:

    KERAS_BACKEND=tensorflow python tests/data/legacy_models/save_legacy_models.py

Each model is built with the public API, trained one short epoch (so its
weights, optimizer and compile config are those of a used model) and saved;
`<name>.npz` holds what it returned for fixed inputs: `encode`,
`reconstruct`, `decode` of fixed `z`, `log_importance_weights` for fixed
noise, and `sample` with a seed. The files are kept as they were written:
they stand for the files users saved with that version.
"""

import os

import keras
import numpy as np

import keras_vae

HERE = os.path.dirname(os.path.abspath(__file__))


def data(shape, kind, n=64, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "unit":
        return rng.uniform(size=(n,) + shape).astype("float32")
    if kind == "8bit":
        return rng.integers(0, 256, size=(n,) + shape).astype("uint8")
    return (rng.normal(size=(n,) + shape) * 3 + 10).astype("float32")


def models():
    keras.utils.set_random_seed(0)
    table = data((6,), "table")
    normalization = keras.layers.Normalization(axis=-1)
    normalization.adapt(table)
    yield "mlp_bernoulli", data((8, 8, 1), "unit"), None, (
        keras_vae.build_mlp_vae(
            input_shape=(8, 8, 1), latent_dim=3, hidden_units=(16,), seed=1
        )
    )
    yield "mlp_table_gaussian", table, None, keras_vae.build_mlp_vae(
        input_shape=(6,),
        latent_dim=2,
        hidden_units=(8,),
        likelihood="gaussian",
        preprocessing=normalization,
        beta=0.5,
        free_bits=0.1,
        seed=2,
    )
    yield "mlp_iwae", data((10,), "unit"), None, keras_vae.build_mlp_vae(
        input_shape=(10,),
        latent_dim=2,
        hidden_units=(8,),
        num_importance_samples=3,
        seed=3,
    )
    yield "conv_8bit_gaussian", data((8, 8, 3), "8bit"), None, (
        keras_vae.build_conv_vae(
            input_shape=(8, 8, 3),
            latent_dim=4,
            filters=(4, 8),
            hidden_units=(16,),
            likelihood="gaussian",
            preprocessing="8bit",
            seed=4,
        )
    )
    yield "resnet_logistic_mixture", data((8, 8, 3), "8bit"), None, (
        keras_vae.build_resnet_vae(
            input_shape=(8, 8, 3),
            latent_dim=4,
            filters=(4, 8),
            likelihood="discretized_logistic_mixture",
            seed=5,
        )
    )
    labels = np.arange(64) % 3
    yield "conditional_mlp", data((8, 8, 1), "unit"), labels, (
        keras_vae.build_mlp_vae(
            input_shape=(8, 8, 1),
            latent_dim=3,
            hidden_units=(16,),
            num_classes=3,
            seed=6,
        )
    )
    yield "hierarchical_conv", data((8, 8, 1), "unit"), None, (
        keras_vae.build_hierarchical_vae(
            input_shape=(8, 8, 1),
            latent_channels=((2,), (2,)),
            filters=(4, 8),
            free_bits=(0.0, 0.1),
            log_variance_bound=5.0,
            skip_gradient_norm=1e6,
            seed=7,
        )
    )
    yield "hierarchical_mlp", data((12,), "unit"), None, (
        keras_vae.build_hierarchical_mlp_vae(
            input_shape=(12,),
            latent_dims=(2, 3),
            hidden_units=(8, 8),
            clip_gradient_norm=100.0,
            seed=8,
        )
    )


def outputs(vae, x, labels):
    rng = np.random.default_rng(10)
    z = rng.standard_normal((5,) + vae.latent_shape).astype("float32")
    epsilon = rng.standard_normal((4, 5) + vae.latent_shape).astype("float32")
    inputs = x[:5] if labels is None else (x[:5], keras.ops.one_hot(labels[:5], 3))
    extra = () if labels is None else (labels[:5],)
    log_w = vae.log_importance_weights(inputs, epsilon)
    sample = (
        vae.sample(5, seed=3)
        if labels is None
        else vae.sample(5, labels=labels[:5], seed=3)
    )
    encoded = vae.encode(x[:5], *extra)
    return {
        "x": x[:5],
        "labels": np.asarray(labels[:5] if labels is not None else []),
        "z": z,
        "epsilon": epsilon,
        "z_mean": encoded[0],
        "z_log_var": encoded[1],
        "reconstruction": vae.reconstruct(x[:5], *extra),
        "decoded": vae.decode(z, *extra),
        "log_weights": keras.ops.convert_to_numpy(log_w),
        "samples": sample,
    }


def main():
    for name, x, labels, vae in models():
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        if isinstance(vae, keras_vae.HierarchicalVAE):
            vae.set_kl_warmup(100, 0.1, 1.0)
        vae.fit(x, labels, epochs=1, batch_size=16, verbose=0)
        vae.save(os.path.join(HERE, f"{name}.keras"))
        np.savez(os.path.join(HERE, f"{name}.npz"), **outputs(vae, x, labels))
        print("saved", name)


if __name__ == "__main__":
    main()
