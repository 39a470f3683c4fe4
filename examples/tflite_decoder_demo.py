"""Generates images with a TFLite VAE decoder in the LiteRT interpreter.

Loads a `.tflite` file made by `keras_vae.export.export_tflite_decoder`,
decodes `z ~ N(0, I)` and writes a PNG grid of the results. It needs only
NumPy, `ai-edge-litert` and matplotlib: neither TensorFlow nor Keras, as on
a phone.

Usage:

```shell
python examples/tflite_decoder_demo.py \
    --model saved_models/mnist_decoder.tflite --output samples.png
```
"""

import argparse

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from ai_edge_litert.interpreter import Interpreter  # noqa: E402


def decode(model_path, z):
    """Runs the decoder on a batch `z`; returns the means of p(x|z)."""
    interpreter = Interpreter(model_path=model_path)
    input_index = interpreter.get_input_details()[0]["index"]
    interpreter.resize_tensor_input(input_index, z.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(input_index, z.astype("float32"))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def latent_dim(model_path):
    """Reads the size of `z` from the model's input."""
    interpreter = Interpreter(model_path=model_path)
    return int(interpreter.get_input_details()[0]["shape_signature"][-1])


def save_grid(images, rows, cols, path):
    """Writes `rows * cols` images of shape `(h, w)` or `(h, w, c)`."""
    fig, axes = plt.subplots(rows, cols, figsize=(cols, rows))
    for image, ax in zip(images, np.ravel(axes)):
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(np.clip(image, 0.0, 1.0), cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
    fig.tight_layout(pad=0.1)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model",
        required=True,
        help="A decoder from `keras_vae.export.export_tflite_decoder`.",
    )
    parser.add_argument("--output", default="tflite_samples.png")
    parser.add_argument("--rows", type=int, default=4)
    parser.add_argument("--cols", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    z = rng.standard_normal((args.rows * args.cols, latent_dim(args.model)))
    images = decode(args.model, z)
    save_grid(images, args.rows, args.cols, args.output)
    print(
        f"Decoded {len(z)} samples of shape {images.shape[1:]} with "
        f"{args.model}; wrote {args.output}."
    )


if __name__ == "__main__":
    main()
