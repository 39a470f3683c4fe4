"""Weights & Biases' `WandbMetricsLogger`, offline: it logs the history
of `fit`, and its per-batch hook (which makes `fit` run one step per
execution) traces the step once over successive `fit` calls."""

import pathlib

import keras
import numpy as np
import pytest
from trace_counting import jax_compiles
from trace_counting import trace_counting

import keras_vae

wandb = pytest.importorskip("wandb")

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOGGED = ("loss", "reconstruction_loss", "kl_loss", "val_loss")


@pytest.fixture
def offline_run(tmp_path, monkeypatch):
    """A W&B run in offline mode whose every file lies under `tmp_path`,
    with no API key and a server address where nothing answers."""
    home = tmp_path / "wandb_home"
    for name in (
        "WANDB_DIR",
        "WANDB_CACHE_DIR",
        "WANDB_CONFIG_DIR",
        "WANDB_DATA_DIR",
        "WANDB_ARTIFACT_DIR",
    ):
        monkeypatch.setenv(name, str(home))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    home.mkdir()
    run = wandb.init(
        project="keras-vae-tests",
        mode="offline",
        settings=wandb.Settings(console="off", save_code=False),
    )
    try:
        yield run
    finally:
        wandb.finish()
        wandb.teardown()


def test_metrics_logger_logs_the_fit_history_and_traces_once(
    offline_run, tmp_path, capfd
):
    from wandb.integration.keras import WandbMetricsLogger

    vae = trace_counting(
        keras_vae.build_mlp_vae(
            input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
        )
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(320, 8)).astype("float32")
    val = rng.uniform(size=(64, 8)).astype("float32")
    logger = WandbMetricsLogger()

    def fit_once():
        history = vae.fit(
            x,
            batch_size=32,
            validation_data=(val,),
            callbacks=[logger],
            verbose=0,
        )
        # What the run holds for the epoch is what `fit` returned.
        for name in LOGGED:
            assert offline_run.summary[f"epoch/{name}"] == pytest.approx(
                history.history[name][0], rel=1e-6
            )
        return vae.traces()

    first = fit_once()
    with jax_compiles() as compiles:
        later = [fit_once(), fit_once()]
    # Every batch reached the logger (it counts them as steps).
    assert logger.global_step == 3 * 10
    if keras.backend.backend() != "torch":  # Eager: nothing is traced.
        assert min(first) > 0
        assert later == [first, first]
        assert compiles == []
    offline_run.finish()
    # Offline, quiet, and every file in the temporary folder.
    assert pathlib.Path(offline_run.dir).is_relative_to(tmp_path)
    assert not (ROOT / "wandb").exists()
    captured = capfd.readouterr()
    assert "wandb" not in (captured.out + captured.err).lower()
