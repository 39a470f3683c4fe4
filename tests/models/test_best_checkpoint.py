"""`keras.callbacks.ModelCheckpoint` keeps the VAE of the best epoch."""

import keras
import numpy as np
import pytest

import keras_vae

EPOCHS = 6


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Trains 6 epochs whose last 2 diverge (learning rate 1.0), keeping the
    best epoch by `val_loss` as a `.keras` and as a `.weights.h5` file."""
    keras.utils.set_random_seed(0)
    directory = tmp_path_factory.mktemp("checkpoints")
    rng = np.random.default_rng(0)
    prototypes = rng.uniform(size=(4, 16)) > 0.5
    x = prototypes[rng.integers(0, 4, size=1200)].astype("float32")
    x_train, x_val = x[:1000], x[1000:]
    vae = keras_vae.build_mlp_vae((16,), latent_dim=2, hidden_units=(32,))
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    snapshots = []
    paths = {
        "keras": directory / "best.keras",
        "weights": directory / "best.weights.h5",
    }
    history = vae.fit(
        x_train,
        epochs=EPOCHS,
        batch_size=100,
        validation_data=x_val,
        verbose=0,
        callbacks=[
            keras.callbacks.LearningRateScheduler(
                lambda epoch: 1e-2 if epoch < EPOCHS - 2 else 1.0
            ),
            keras.callbacks.ModelCheckpoint(
                paths["keras"], monitor="val_loss", save_best_only=True
            ),
            keras.callbacks.ModelCheckpoint(
                paths["weights"],
                monitor="val_loss",
                save_best_only=True,
                save_weights_only=True,
            ),
            keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: snapshots.append(
                    [w.numpy() for w in vae.weights]
                )
            ),
        ],
    )
    return vae, x_val, history.history["val_loss"], snapshots, paths


def test_the_last_epochs_are_worse(run):
    _, _, val_loss, _, _ = run
    best = int(np.argmin(val_loss))
    assert best < EPOCHS - 2
    assert min(val_loss[-2:]) > 1.5 * val_loss[best]


def _assert_is_the_best_epoch(model, run):
    vae, x_val, val_loss, snapshots, _ = run
    best = int(np.argmin(val_loss))
    for loaded, saved in zip(model.weights, snapshots[best], strict=True):
        np.testing.assert_array_equal(loaded.numpy(), saved)
    loss = model.evaluate(x_val, batch_size=200, verbose=0)[0]
    np.testing.assert_allclose(loss, val_loss[best], rtol=0.05)
    assert loss < min(val_loss[-2:])


def test_keras_file_holds_the_best_epoch(run):
    model = keras_vae.load_vae(run[4]["keras"])
    assert isinstance(model, keras_vae.VAE)
    _assert_is_the_best_epoch(model, run)


def test_weights_file_holds_the_best_epoch(run):
    model = keras_vae.build_mlp_vae((16,), latent_dim=2, hidden_units=(32,))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.optimizer.build(model.trainable_variables)
    model.load_weights(run[4]["weights"])
    _assert_is_the_best_epoch(model, run)
