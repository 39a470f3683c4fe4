"""Pictures of an 8-bit model: its images, samples and reconstructions are
pixel values 0-255, drawn as intensities in [0, 1] (not clipped to white)."""

import matplotlib.image
import numpy as np

import keras_vae
from keras_vae.callbacks import VAETensorBoard
from keras_vae.plotting import image_grid
from keras_vae.plotting import interleave_rows
from keras_vae.plotting import save_samples_and_reconstructions
from keras_vae.plotting import to_unit_range


def pixels():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(16, 8, 8, 1), dtype="uint8")


def eight_bit_vae():
    return keras_vae.build_conv_vae(
        (8, 8, 1),
        latent_dim=2,
        filters=(4,),
        hidden_units=(8,),
        preprocessing="8bit",
        seed=0,
    )


def test_to_unit_range_divides_pixel_values_only():
    x = pixels()
    np.testing.assert_allclose(
        to_unit_range(eight_bit_vae(), x), x / 255.0, rtol=1e-6
    )
    plain = keras_vae.build_conv_vae(
        (8, 8, 1), latent_dim=2, filters=(4,), hidden_units=(8,), seed=0
    )
    u = x / 255.0
    np.testing.assert_array_equal(to_unit_range(plain, u), u.astype("f4"))


def test_the_png_of_an_8bit_model_shows_its_images(tmp_path):
    vae, x = eight_bit_vae(), pixels()
    path = tmp_path / "samples.png"
    save_samples_and_reconstructions(vae, x, path, num_samples=8)
    picture = matplotlib.image.imread(path)[..., :3]
    # The panels of an untrained 8-bit decoder are mid-grey and the
    # originals uniform noise: about three quarters of the picture is the
    # white figure around them (clipped to white, 99% would be).
    white = (picture.min(axis=-1) > 0.99).mean()
    assert white < 0.85


def test_tensorboard_grids_of_an_8bit_model_are_in_unit_range(tmp_path):
    vae, x = eight_bit_vae(), pixels()
    callback = VAETensorBoard(x, tmp_path, num_samples=8, num_pairs=8)
    callback.set_model(vae)
    grids = callback._image_grids()
    expected = image_grid(
        interleave_rows(x[:8] / 255.0, vae.reconstruct(x[:8]) / 255.0, 8), 8
    )
    np.testing.assert_allclose(
        grids["reconstructions"][..., 0], expected, atol=1e-6
    )
    assert 0.3 < grids["prior_samples"].mean() < 0.7
