"""Writes TF Serving REST request bodies for an exported VAE, and runs them.

For each signature of a SavedModel made by
`keras_vae.export.export_saved_model`, this script writes the JSON body of
a TF Serving REST `predict` request, built from real MNIST test images. If
you pass `--export-dir`, it also runs the same requests against the
SavedModel with plain TensorFlow, as TF Serving would, and prints the
response shapes; the bodies then follow the model's signatures (8-bit
pixel values for a model of raw pixels, `score` and the `_bytes`
signatures on PNG files where it has them, `labels` for a conditional
model). Finally it prints the `docker run` command that serves the
model and one `curl` line per request.

Usage:

```shell
python examples/serving_request.py \
    --export-dir saved_models/mnist_vae --out-dir serving_requests
```
"""

import argparse
import base64
import json
import os

import numpy as np
import tensorflow as tf

import keras_vae


def request_bodies(x, z, num_samples=4, seed=0, signatures=None, labels=None):
    """Returns `{signature_name: body}`, TF Serving REST request bodies.

    Signatures with one input per example use the row format
    (`"instances"`, one entry per example, a dict of named inputs when
    there are several); `sample` takes scalars and uses the columnar format
    (`"inputs"`).

    Without `signatures`, the bodies are those of a model of float32 images
    in [0, 1]. With `signatures`, `{name: {input name: tf.TensorSpec}}` of
    the SavedModel, they follow it: 8-bit pixel values where `x` is uint8,
    `score` and the `_bytes` signatures (PNG files, base64 in `{"b64": ...}`)
    where the model has them, and `labels` for a conditional model.
    """
    signatures = signatures or {
        name: {}
        for name in ("serving_default", "reconstruct", "encode", "decode")
    }
    uint8 = any(
        spec["x"].dtype == tf.uint8
        for spec in signatures.values()
        if "x" in spec
    )
    if uint8:
        # MNIST's floats are k / 255: their 8-bit values, exactly.
        images = np.round(x * 255).astype("uint8")
    else:
        images = np.round(x, 4)
    conditional = any("labels" in spec for spec in signatures.values())
    label_list = [int(label) for label in labels] if conditional else None

    def rows(name, key, values):
        if not conditional:
            return {"signature_name": name, "instances": values}
        return {
            "signature_name": name,
            "instances": [
                {key: value, "labels": label}
                for value, label in zip(values, label_list)
            ],
        }

    bodies = {}
    for name in ("serving_default", "reconstruct", "encode", "score"):
        if name in signatures:
            bodies[name] = rows(name, "x", images.tolist())
    bodies["decode"] = rows("decode", "z", np.round(z, 4).tolist())
    bodies["sample"] = {
        "signature_name": "sample",
        "inputs": {"num_samples": num_samples, "seed": seed},
    }
    if conditional:
        bodies["sample"]["inputs"]["labels"] = label_list[:1]
    files = [
        {"b64": base64.b64encode(png_file(image)).decode("ascii")}
        for image in images
    ]
    for name in ("encode_bytes", "reconstruct_bytes", "score_bytes"):
        if name in signatures:
            bodies[name] = rows(name, "image_bytes", files)
    return bodies


def png_file(image):
    """The bytes of a PNG file of an image in [0, 1] or 0-255."""
    if image.dtype != np.uint8:
        image = np.round(np.asarray(image) * 255).astype("uint8")
    return tf.io.encode_png(image).numpy()


def run_request(loaded, body):
    """Runs a REST request body on a loaded SavedModel; returns the outputs.

    A small stand-in for TF Serving's JSON handling: row format
    (`"instances"`: values of the one input, or dicts of named inputs) or
    columnar format (`"inputs"`); `{"b64": ...}` is decoded to bytes.
    """
    signature = loaded.signatures[body["signature_name"]]
    specs = signature.structured_input_signature[1]
    if "instances" in body:
        instances = body["instances"]
        if (
            instances
            and isinstance(instances[0], dict)
            and ("b64" not in instances[0])
        ):
            inputs = {
                name: [instance[name] for instance in instances]
                for name in specs
            }
        else:
            (name,) = specs
            inputs = {name: instances}
    else:
        inputs = body["inputs"]
    tensors = {
        name: tf.constant(_decode_b64(value), dtype=specs[name].dtype)
        for name, value in inputs.items()
    }
    return {name: t.numpy() for name, t in signature(**tensors).items()}


def _decode_b64(value):
    if isinstance(value, list):
        return [_decode_b64(v) for v in value]
    if isinstance(value, dict) and set(value) == {"b64"}:
        return base64.b64decode(value["b64"])
    return value


def latest_version(export_dir):
    """Returns `export_dir` if it is a version, else its latest version."""
    if os.path.exists(os.path.join(export_dir, "saved_model.pb")):
        return export_dir
    versions = [int(n) for n in os.listdir(export_dir) if n.isdigit()]
    if not versions:
        raise FileNotFoundError(f"No SavedModel version in {export_dir!r}.")
    return os.path.join(export_dir, str(max(versions)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--export-dir",
        help="A model base directory (its latest version is used) or a "
        "version directory of `export_saved_model`. If given, the requests "
        "are run against it with plain TensorFlow.",
    )
    parser.add_argument("--out-dir", default="serving_requests")
    parser.add_argument("--model-name", default="mnist_vae")
    parser.add_argument("--num-images", type=int, default=2)
    parser.add_argument("--latent-dim", type=int, default=20)
    args = parser.parse_args(argv)

    _, (x_test, y_test) = keras_vae.datasets.load_mnist(embedded=True)
    x = x_test[: args.num_images]
    latent_dim = args.latent_dim
    loaded = None
    signatures = None
    if args.export_dir:
        version_dir = latest_version(args.export_dir)
        loaded = tf.saved_model.load(version_dir)
        signatures = {
            name: function.structured_input_signature[1]
            for name, function in loaded.signatures.items()
        }
        latent_dim = signatures["decode"]["z"].shape[-1]
    z = np.random.default_rng(0).standard_normal((len(x), latent_dim))
    bodies = request_bodies(
        x, z, signatures=signatures, labels=y_test[: args.num_images]
    )

    os.makedirs(args.out_dir, exist_ok=True)
    url = f"http://localhost:8501/v1/models/{args.model_name}:predict"
    curl_lines = []
    for name, body in bodies.items():
        path = os.path.join(args.out_dir, f"{name}.json")
        with open(path, "w") as f:
            json.dump(body, f)
        curl_lines.append(
            f"curl -s -X POST -H 'Content-Type: application/json' "
            f"-d @{path} {url}"
        )
        print(f"Wrote {path} ({os.path.getsize(path)} bytes).")

    if loaded is not None:
        print(f"\nResponses of {version_dir} (plain TensorFlow):")
        for name, body in bodies.items():
            outputs = run_request(loaded, body)
            shapes = ", ".join(
                f"{key}: {list(value.shape)}" for key, value in outputs.items()
            )
            print(f"  {name}: {shapes}")

    if loaded is not None:
        base_dir = os.path.dirname(os.path.abspath(version_dir))
    else:
        base_dir = os.path.abspath(
            os.path.join("saved_models", args.model_name)
        )
    relative = os.path.relpath(base_dir)
    if not relative.startswith(".."):
        base_dir = f"$PWD/{relative}"
    print("\nServe the model with TF Serving (REST on port 8501):")
    print(
        f"  docker run -p 8501:8501 --mount type=bind,source={base_dir},"
        f"target=/models/{args.model_name} -e MODEL_NAME={args.model_name} "
        "-t tensorflow/serving"
    )
    print("\nThen send the requests:")
    for line in curl_lines:
        print(f"  {line}")


if __name__ == "__main__":
    main()
