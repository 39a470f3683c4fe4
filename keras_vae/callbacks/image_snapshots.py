import os

import keras

from keras_vae.utils.argument_checks import check_positive_int


class ImageSnapshots(keras.callbacks.Callback):
    """Writes a PNG of prior samples and reconstructions as training goes.

    Every `every_n_epochs` epochs it writes
    `directory/epoch_<NNN>.png` (`keras_vae.plotting`'s grid of samples
    from the prior beside originals and their reconstructions), with the
    same prior draws (`seed`) each time, so the files show the model learn.

    Args:
        x: Images to reconstruct; the first 16 are used.
        directory: Where to write the PNG files.
        every_n_epochs: How often to write one. Defaults to `1`.
        seed: The seed of the prior samples. Defaults to `0`.

    Example:

    ```python
    vae.fit(x_train, epochs=10, callbacks=[ImageSnapshots(x_test, "png")])
    ```
    """

    def __init__(self, x, directory, every_n_epochs=1, seed=0):
        super().__init__()
        self.x = x[:16]
        self.directory = os.fspath(directory)
        self.every_n_epochs = check_positive_int(
            every_n_epochs, "every_n_epochs"
        )
        self.seed = seed
        self.paths = []

    def on_epoch_end(self, epoch, logs=None):
        # Imported here: matplotlib loads only for those who draw.
        from keras_vae.plotting import save_samples_and_reconstructions
        from keras_vae.samplers import PriorSampler

        if (epoch + 1) % self.every_n_epochs:
            return
        path = os.path.join(self.directory, f"epoch_{epoch + 1:03d}.png")
        # The prior: a sampler attached before this training is fitted to
        # the encoder as it was, and refuses the one training changes.
        save_samples_and_reconstructions(
            self.model,
            self.x,
            path,
            seed=self.seed,
            overwrite=True,
            sampler=PriorSampler(),
        )
        self.paths.append(path)
