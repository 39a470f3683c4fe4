"""Train a VAE on MNIST and export it for TF Serving and TFLite.

    python examples/train_and_export.py --epochs 10 --output-dir saved_models

Uses the MNIST sample shipped with keras-vae unless --full is given (then
$KERAS_VAE_DATA_DIR/mnist.npz, or a download through keras.datasets).
"""

import argparse
import os

import keras

import keras_vae


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--output-dir", default="saved_models")
    args = parser.parse_args(argv)

    (x_train, _), (x_test, _) = keras_vae.datasets.load_mnist(
        embedded=not args.full
    )
    vae = keras_vae.build_mlp_vae(input_shape=(28, 28, 1), latent_dim=20)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x_train, epochs=args.epochs, batch_size=128, validation_data=x_test)
    print(vae.evaluate(x_test, return_dict=True, verbose=0))

    os.makedirs(args.output_dir, exist_ok=True)
    vae.save(os.path.join(args.output_dir, "example_vae.keras"))
    version_dir = keras_vae.export.export_saved_model(
        vae, os.path.join(args.output_dir, "example_vae")
    )
    tflite_path = os.path.join(args.output_dir, "example_decoder.tflite")
    keras_vae.export.export_tflite_decoder(vae, tflite_path, overwrite=True)
    print(f"SavedModel: {version_dir}\nTFLite decoder: {tflite_path}")


if __name__ == "__main__":
    main()
