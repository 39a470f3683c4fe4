"""PNG pictures of a VAE: samples from the prior, reconstructions."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_vae.utils.atomic import atomic_path  # noqa: E402


def image_grid(images, columns):
    """Tiles `(n, height, width[, channels])` images into one image."""
    images = np.asarray(images, dtype="float32")
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    n, height, width = images.shape[:3]
    rows = -(-n // columns)
    grid = np.ones((rows * height, columns * width) + images.shape[3:])
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * height : (r + 1) * height, c * width : (c + 1) * width] = image
    return np.clip(grid, 0.0, 1.0)


def save_samples_and_reconstructions(
    vae, x, path, num_samples=64, num_pairs=16, seed=0, overwrite=True
):
    """Writes a PNG: samples from the prior beside originals and their
    reconstructions (each original above its reconstruction).

    Args:
        vae: A `keras_vae.VAE` for images `(height, width[, channels])`.
        x: Images to reconstruct; the first `num_pairs` are used.
        path: The PNG file to write.
        num_samples: How many prior samples to show, in rows of 8.
        num_pairs: How many originals and reconstructions to show.
        seed: The seed of the prior samples.
        overwrite: Whether an existing file may be replaced.
    """
    x = np.asarray(x[:num_pairs], dtype="float32")
    samples = vae.sample(num_samples, seed=seed)
    reconstructions = vae.reconstruct(x)
    pairs = np.ones((2 * -(-len(x) // 8) * 8,) + x.shape[1:], "float32")
    columns = 8
    for i in range(len(x)):
        r, c = divmod(i, columns)
        pairs[2 * r * columns + c] = x[i]
        pairs[(2 * r + 1) * columns + c] = reconstructions[i]
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.5))
    panels = (
        (samples, f"{num_samples} samples from the prior"),
        (pairs, "originals above their reconstructions"),
    )
    for ax, (images, title) in zip(axes, panels):
        ax.imshow(image_grid(images, columns), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
    fig.tight_layout()
    with atomic_path(path, overwrite=overwrite) as temp:
        fig.savefig(temp, format="png", dpi=100)
    plt.close(fig)
