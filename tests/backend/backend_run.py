"""Trains small VAEs on one Keras backend and saves each with its outputs:
`python tests/backend/backend_run.py DIR` with `KERAS_BACKEND` set (see
test_backends.py), one model per prior in `PRIORS` (`custom`: the
user-written prior and likelihood of examples/custom_parts), in
`DIR/<prior>/`. With `--data-parallel`, instead trains one step
of the same model under `keras.distribution.DataParallel` and on one
device, from the same weights, and saves both updated weights."""

import json
import sys
from pathlib import Path

import keras
import numpy as np

import keras_vae

#: The models `train` trains, by the prior (and likelihood) they take.
PRIORS = ("standard", "mog", "vamp", "custom")


def build(prior):
    kwargs = {}
    if prior == "mog":
        kwargs["prior"] = keras_vae.priors.MixtureOfGaussians(3, seed=2)
    elif prior == "vamp":
        kwargs["prior"] = keras_vae.priors.VampPrior(8, seed=2)
    elif prior == "custom":
        # tests/example_parts.py: the user's parts of examples/custom_parts.
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from example_parts import LaplaceLikelihood
        from example_parts import LearnedGaussianPrior

        kwargs = {
            "prior": LearnedGaussianPrior(),
            "likelihood": LaplaceLikelihood(),
        }
    return keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1),
        latent_dim=4,
        hidden_units=(32,),
        seed=1,
        **kwargs,
    )


def train(out):
    from keras_vae.export import fixed_noise_scores
    from keras_vae.export import score_noise

    rng = np.random.default_rng(0)
    x = (rng.random((256, 28, 28, 1)) > 0.5).astype("float32")
    z = rng.standard_normal((5, 4)).astype("float32")
    for prior in PRIORS:
        folder = out / prior
        folder.mkdir()
        vae = build(prior)
        vae.compile(optimizer=keras.optimizers.Adam(1e-3))
        history = vae.fit(x, epochs=2, batch_size=64, verbose=0)
        vae.save(folder / "model.keras")
        z_mean, z_log_var = vae.encode(x[:16])
        epsilon = score_noise(vae.latent_shape, 10, seed=0)
        np.savez(
            folder / "outputs.npz",
            x=x[:16],
            z_mean=z_mean,
            z_log_var=z_log_var,
            reconstruction=vae.reconstruct(x[:16]),
            z=z,
            decoded=vae.decode(z),
            scores=keras.ops.convert_to_numpy(
                fixed_noise_scores(vae, x[:16], epsilon)
            ),
            samples=vae.sample(5, seed=3),
        )
        logs = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        (folder / "history.json").write_text(json.dumps(logs))


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
