"""PNG pictures of a VAE: samples, reconstructions, the latent space."""

import statistics

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from keras_vae.samplers import PriorSampler  # noqa: E402
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


def to_unit_range(vae, images):
    """`images` in `vae`'s data units (what `x`, `sample` and `reconstruct`
    hold) as float32 intensities in [0, 1] to draw: pixel values 0-255 of
    an 8-bit model divided by 255, others as they are."""
    images = np.asarray(images, dtype="float32")
    if vae.input_dtype == "uint8":
        return images / 255.0
    return images


def interleave_rows(originals, reconstructions, columns):
    """Rows of `columns` originals, each row above its reconstructions;
    the last row padded with white."""
    rows = -(-len(originals) // columns)
    pairs = np.ones((2 * rows * columns,) + originals.shape[1:], "float32")
    for i in range(len(originals)):
        row, column = divmod(i, columns)
        pairs[2 * row * columns + column] = originals[i]
        pairs[(2 * row + 1) * columns + column] = reconstructions[i]
    return pairs


def save_samples_and_reconstructions(
    vae,
    x,
    path,
    num_samples=64,
    num_pairs=16,
    seed=0,
    overwrite=True,
    sampler=None,
):
    """Writes a PNG: samples beside originals and their reconstructions
    (each original above its reconstruction).

    Args:
        vae: A `keras_vae.VAE` for images `(height, width[, channels])`.
        x: Images to reconstruct; the first `num_pairs` are used.
        path: The PNG file to write.
        num_samples: How many prior samples to show, in rows of 8.
        num_pairs: How many originals and reconstructions to show.
        seed: The seed of the samples.
        overwrite: Whether an existing file may be replaced.
        sampler: Where `z` comes from, as `vae.sample` takes it: None for
            the attached sampler, else the prior.
    """
    x = np.asarray(x[:num_pairs])
    samples = vae.sample(num_samples, seed=seed, sampler=sampler)
    samples = to_unit_range(vae, samples)
    source = sampler if sampler is not None else vae.sampler
    if source is None or isinstance(source, PriorSampler):
        source = "the prior"
    else:
        source = f"a {type(source).__name__}"
    reconstructions = to_unit_range(vae, vae.reconstruct(x))
    columns = 8
    pairs = interleave_rows(to_unit_range(vae, x), reconstructions, columns)
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.5))
    panels = (
        (samples, f"{num_samples} samples from {source}"),
        (pairs, "originals above their reconstructions"),
    )
    for ax, (images, title) in zip(axes, panels):
        ax.imshow(image_grid(images, columns), cmap="gray", vmin=0, vmax=1)
        ax.set_title(title)
        ax.axis("off")
    _save(fig, path, overwrite)


def _save(fig, path, overwrite):
    fig.tight_layout()
    with atomic_path(path, overwrite=overwrite) as temp:
        fig.savefig(temp, format="png", dpi=100)
    plt.close(fig)


def _principal_axes(z_mean):
    """The top two principal directions of the posterior means."""
    centered = z_mean - z_mean.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    return vt[:2]


def save_latent_map(vae, x, labels, path, overwrite=True):
    """Writes a PNG scatter of the posterior means coloured by label
    (in one colour for `labels=None`: data without labels).

    A 2-D latent space is drawn as is; a larger one is projected on its
    first two principal components (PCA of the posterior means).
    """
    z_mean, _ = vae.encode(x)
    z_mean = z_mean.reshape(len(z_mean), -1).astype("float64")
    if z_mean.shape[1] == 2:
        points, axis_names = z_mean, ("z[0]", "z[1]")
    else:
        points = (z_mean - z_mean.mean(0)) @ _principal_axes(z_mean).T
        axis_names = ("principal component 1", "principal component 2")
    fig, ax = plt.subplots(figsize=(7, 6))
    if labels is None:
        ax.scatter(points[:, 0], points[:, 1], s=3)
    else:
        scatter = ax.scatter(
            points[:, 0], points[:, 1], c=np.asarray(labels), cmap="tab10", s=3
        )
        fig.colorbar(scatter, ax=ax, label="label")
    ax.set_xlabel(axis_names[0])
    ax.set_ylabel(axis_names[1])
    ax.set_title("posterior means of the test set")
    _save(fig, path, overwrite)


def save_manifold(vae, path, grid_size=15, x=None, overwrite=True):
    """Writes a PNG of images decoded over a 2-D grid of latent points.

    The grid spans the 5%..95% quantiles of `N(0, 1)` on each axis. A 2-D
    latent space is covered directly; in a larger one the grid lies in the
    plane of the first two principal components of the posterior means of
    `x` (needed then), through the origin.
    """
    normal = statistics.NormalDist()
    values = np.array(
        [normal.inv_cdf(p) for p in np.linspace(0.05, 0.95, grid_size)]
    )
    latent_size = int(np.prod(vae.latent_shape))
    if latent_size == 2:
        axes = np.eye(2)
    else:
        if x is None:
            raise ValueError(
                "A latent space of more than 2 dimensions needs data `x` to "
                "find the plane to draw. Received: x=None"
            )
        z_mean, _ = vae.encode(x)
        axes = _principal_axes(z_mean.reshape(len(z_mean), -1))
    a, b = np.meshgrid(values, values[::-1])
    z = a.reshape(-1, 1) * axes[0] + b.reshape(-1, 1) * axes[1]
    images = vae.decode(z.reshape((-1,) + vae.latent_shape).astype("float32"))
    images = to_unit_range(vae, images)
    fig, ax = plt.subplots(figsize=(8, 8))
    ax.imshow(image_grid(images, grid_size), cmap="gray", vmin=0, vmax=1)
    ax.set_title("decoded latent grid (5%..95% prior quantiles)")
    ax.axis("off")
    _save(fig, path, overwrite)


def save_traversals(vae, x, path, num_dimensions=8, overwrite=True):
    """Writes a PNG of latent traversals: one row per latent dimension.

    Starting from the posterior mean of `x[0]`, each row moves one
    dimension from -3 to 3 and decodes. The rows are the `num_dimensions`
    dimensions with the largest average KL (the ones the model uses; for
    a prior with no KL per dimension, such as a mixture, those whose
    posterior means vary most over `x`).
    """
    from keras_vae.evaluation import active_units
    from keras_vae.evaluation import kl_per_dimension

    if vae.prior_params(vae.model_inputs(x[:1])) is None:
        kl, unit = active_units(vae, x)[1], "var"
    else:
        kl, unit = kl_per_dimension(vae, x), "nats"

    dims = np.argsort(kl)[::-1][:num_dimensions]
    z_mean, _ = vae.encode(x[:1])
    start = z_mean.reshape(-1)
    values = np.linspace(-3.0, 3.0, 9)
    z = np.repeat(start[None], len(dims) * len(values), axis=0)
    for row, dim in enumerate(dims):
        z[row * len(values) : (row + 1) * len(values), dim] = values
    images = vae.decode(z.reshape((-1,) + vae.latent_shape).astype("float32"))
    images = to_unit_range(vae, images)
    fig, ax = plt.subplots(figsize=(7, 0.8 * len(dims) + 1))
    ax.imshow(image_grid(images, len(values)), cmap="gray", vmin=0, vmax=1)
    ax.set_yticks(
        [images.shape[1] * (r + 0.5) for r in range(len(dims))],
        [f"z[{d}] ({kl[d]:.1f} {unit})" for d in dims],
    )
    ax.set_xticks(
        [images.shape[2] * (c + 0.5) for c in range(len(values))],
        [f"{v:g}" for v in values],
    )
    ax.set_title("traversals from the posterior mean of one image")
    _save(fig, path, overwrite)
