"""Trains a small VAE on one Keras backend and saves it with its outputs:
`python tests/backend_run.py DIR` with `KERAS_BACKEND` set (see
tests/test_backends.py). With `--data-parallel`, instead trains one step
of the same model under `keras.distribution.DataParallel` and on one
device, from the same weights, and saves both updated weights."""

import json
import sys
from pathlib import Path

import keras
import numpy as np

import keras_vae


def train(out):
    rng = np.random.default_rng(0)
    x = (rng.random((256, 28, 28, 1)) > 0.5).astype("float32")
    vae = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), latent_dim=4, hidden_units=(32,), seed=1
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = vae.fit(x, epochs=2, batch_size=64, verbose=0)
    vae.save(out / "model.keras")
    z_mean, z_log_var = vae.encode(x[:16])
    z = rng.standard_normal((5, 4)).astype("float32")
    np.savez(
        out / "outputs.npz",
        x=x[:16],
        z_mean=z_mean,
        z_log_var=z_log_var,
        reconstruction=vae.reconstruct(x[:16]),
        z=z,
        decoded=vae.decode(z),
    )
    logs = {k: [float(v) for v in vs] for k, vs in history.history.items()}
    (out / "history.json").write_text(json.dumps(logs))


def data_parallel(out):
    rng = np.random.default_rng(0)
    x = (rng.random((64, 8)) > 0.5).astype("float32")
    updated = {}
    for name in ("one_device", "data_parallel"):
        if name == "data_parallel":
            devices = keras.distribution.list_devices("cpu")
            keras.distribution.set_distribution(
                keras.distribution.DataParallel(devices=devices)
            )
        keras.utils.set_random_seed(0)
        vae = keras_vae.build_mlp_vae(
            input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=3
        )
        vae.compile(optimizer=keras.optimizers.SGD(0.1), steps_per_execution=1)
        logs = vae.fit(x, epochs=1, batch_size=64, shuffle=False, verbose=0)
        updated[name] = [np.asarray(w) for w in vae.get_weights()]
        updated[name + "_loss"] = np.float32(logs.history["loss"][0])
        updated[name + "_devices"] = len(keras.distribution.list_devices("cpu"))
    np.savez(
        out / "data_parallel.npz",
        **{
            f"{name}_{i}": w
            for name in ("one_device", "data_parallel")
            for i, w in enumerate(updated[name])
        },
        one_device_loss=updated["one_device_loss"],
        data_parallel_loss=updated["data_parallel_loss"],
        devices=updated["data_parallel_devices"],
    )


if __name__ == "__main__":
    out = Path(sys.argv[1])
    if "--data-parallel" in sys.argv:
        data_parallel(out)
    else:
        train(out)
