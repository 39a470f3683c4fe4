"""A model with a sampler attached trains on: the callbacks that draw
samples every epoch draw from the prior (the attached sampler is fitted to
the encoder as it was and refuses the one training changes), and
`plotting` says where its samples come from."""

import os

import numpy as np
import pytest

import keras_vae
from keras_vae.samplers import GaussianMixtureSampler

pytestmark = pytest.mark.tensorflow_only


@pytest.fixture
def images():
    (x_train, _), _ = keras_vae.datasets.load_mnist(embedded=True)
    return x_train[:256]


def attached(images):
    vae = keras_vae.build_mlp_vae((28, 28, 1), latent_dim=2, seed=0)
    vae.compile(optimizer="adam")
    vae.fit(images, epochs=1, batch_size=64, verbose=0)
    vae.set_sampler(GaussianMixtureSampler(2, seed=0).fit(vae, images))
    return vae


def test_image_snapshots_and_tensorboard_draw_from_the_prior(images, tmp_path):
    vae = attached(images)
    prior = vae.sample(8, seed=0, sampler=keras_vae.samplers.PriorSampler())
    callbacks = [
        keras_vae.callbacks.ImageSnapshots(images, tmp_path / "snapshots"),
        keras_vae.callbacks.VAETensorBoard(images, str(tmp_path / "logs")),
    ]
    vae.fit(images, epochs=1, batch_size=64, verbose=0, callbacks=callbacks)
    assert os.listdir(tmp_path / "snapshots") == ["epoch_001.png"]
    # The sampler is stale now, and says so; the prior's draws moved with
    # the decoder.
    with pytest.raises(ValueError, match="fitted to another model"):
        vae.sample(8, seed=0)
    new_prior = vae.sample(8, seed=0, sampler=keras_vae.samplers.PriorSampler())
    assert not np.allclose(prior, new_prior)


def test_the_picture_names_the_sampler(images, tmp_path, monkeypatch):
    from keras_vae import plotting

    titles = []
    monkeypatch.setattr(
        plotting.plt.Axes, "set_title", lambda ax, t: titles.append(t)
    )
    vae = attached(images)
    plotting.save_samples_and_reconstructions(vae, images, tmp_path / "a.png")
    plotting.save_samples_and_reconstructions(
        vae,
        images,
        tmp_path / "b.png",
        sampler=keras_vae.samplers.PriorSampler(),
    )
    assert titles[0] == "64 samples from a GaussianMixtureSampler"
    assert titles[2] == "64 samples from the prior"
