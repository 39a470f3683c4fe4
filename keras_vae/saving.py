"""Loading `.keras` files that hold a `keras_vae.VAE`."""

import json
import os
import zipfile

import keras

from keras_vae.models.vae import VAE


def load_vae(path):
    """Loads a `keras_vae.VAE` from a `.keras` file, with `safe_mode` on.

    Unlike `keras.saving.load_model` alone, it tells apart a missing file,
    a file that is not a complete `.keras` archive (truncated or tampered
    with), and a valid archive that holds some other model, each with its
    own error. Load only files from sources you trust.

    Args:
        path: The `.keras` file.

    Returns:
        The `keras_vae.VAE`.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: the file is not a readable `.keras` archive, or holds no
            `keras_vae.VAE`.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            names = set(archive.namelist())
            config = json.loads(archive.read("config.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as e:
        raise ValueError(
            f"{path!r} is not a complete `.keras` archive: it is truncated, "
            f"corrupted or not a Keras file ({e}). Save the model again."
        ) from e
    if damaged is not None or "model.weights.h5" not in names:
        raise ValueError(
            f"{path!r} is a damaged `.keras` archive: "
            + (
                f"{damaged!r} fails its checksum"
                if damaged
                else "it has no weights file"
            )
            + ". Save the model again."
        )
    class_name = config.get("class_name") if isinstance(config, dict) else None
    registered = (
        config.get("registered_name") if isinstance(config, dict) else None
    )
    if not (
        isinstance(registered, str) and registered.startswith("keras_vae>")
    ):
        raise ValueError(
            f"{path!r} holds a Keras model that is not a keras_vae.VAE. "
            f"Received: class_name={class_name!r}, "
            f"registered_name={registered!r}"
        )
    model = keras.saving.load_model(path, safe_mode=True)
    if not isinstance(model, VAE):
        raise ValueError(
            f"{path!r} holds a Keras model that is not a keras_vae.VAE. "
            f"Received: {type(model).__name__}"
        )
    return model
