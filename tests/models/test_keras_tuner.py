"""KerasTuner searches a VAE's latent size and learning rate on
`val_loss`, and its best model saves to `.keras` and reloads whole."""

import keras
import numpy as np
import pytest

import keras_vae

keras_tuner = pytest.importorskip("keras_tuner")


def build(hp):
    vae = keras_vae.build_mlp_vae(
        latent_dim=hp.Choice("latent_dim", [2, 8]),
        hidden_units=(64,),
        seed=0,
    )
    learning_rate = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
    vae.compile(optimizer=keras.optimizers.Adam(learning_rate))
    return vae


# KerasTuner reloads the best epoch's weights into a freshly compiled model,
# whose optimizer has no state yet: Keras warns that it skips the saved one.
@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_random_search_finds_a_best_vae_that_saves_and_reloads(tmp_path):
    (x_train, _), (x_test, _) = keras_vae.datasets.load_mnist(embedded=True)
    x_train, x_val = x_train[:1024], x_test[:256]
    tuner = keras_tuner.RandomSearch(
        build,
        objective="val_loss",
        max_trials=2,
        seed=0,
        directory=tmp_path,
        project_name="vae",
    )
    tuner.search(
        x_train, validation_data=(x_val,), epochs=1, batch_size=128, verbose=0
    )

    trials = tuner.oracle.get_best_trials(num_trials=2)
    assert len(trials) == 2
    scores = [trial.score for trial in trials]
    assert scores == sorted(scores) and np.all(np.isfinite(scores))
    best_hp = tuner.get_best_hyperparameters()[0]
    assert best_hp.values == trials[0].hyperparameters.values

    (best,) = tuner.get_best_models(num_models=1)
    assert isinstance(best, keras_vae.VAE)
    assert best.latent_shape == (best_hp["latent_dim"],)
    # The weights of the best epoch: its validation loss is the score, up
    # to the noise of the loss's draws of z.
    np.testing.assert_allclose(
        best.evaluate(x_val, batch_size=128, verbose=0, return_dict=True)[
            "loss"
        ],
        trials[0].score,
        rtol=1e-2,
    )

    best.save(tmp_path / "best.keras")
    reloaded = keras.saving.load_model(tmp_path / "best.keras")
    assert isinstance(reloaded, type(best))
    for before, after in zip(best.encode(x_val), reloaded.encode(x_val)):
        np.testing.assert_allclose(after, before, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        float(reloaded.optimizer.learning_rate),
        best_hp["learning_rate"],
        rtol=1e-6,
    )
