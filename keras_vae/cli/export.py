"""`keras-vae export`: a TF Serving SavedModel, a TFLite decoder and ONNX
files."""

import os

QUANTIZATIONS = ("none", "float16", "dynamic_range", "int8")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="Export a trained VAE for TF Serving, TFLite and ONNX.",
        description=(
            "Write the next version directory of a TF Serving SavedModel "
            "(signatures serving_default, reconstruct, encode, decode, "
            "sample; score for models of raw data or with labels; "
            "encode_bytes, reconstruct_bytes, score_bytes for 8-bit image "
            "models), the decoder as a .tflite file, and/or the signatures "
            "encode, decode, reconstruct and score as ONNX files, each "
            "checked in ONNX Runtime against the SavedModel."
        ),
    )
    parser.add_argument("model", help="A .keras file holding a keras_vae.VAE.")
    parser.add_argument(
        "--saved-model",
        metavar="DIR",
        help="The model directory TF Serving watches; the export goes into "
        "its next integer version, DIR/1, DIR/2, ...",
    )
    parser.add_argument(
        "--version", type=int, help="An explicit version number."
    )
    parser.add_argument(
        "--resize",
        choices=("crop", "pad"),
        default="crop",
        help="How the *_bytes signatures fit an image of another aspect "
        "ratio to the model's size, as in training (image_folder's resize; "
        "default crop).",
    )
    parser.add_argument(
        "--score-samples",
        type=int,
        default=100,
        metavar="K",
        help="Importance samples per example of the score signatures "
        "(default 100).",
    )
    parser.add_argument("--tflite", metavar="FILE", help="The .tflite file.")
    parser.add_argument("--quantization", choices=QUANTIZATIONS, default="none")
    parser.add_argument(
        "--onnx",
        metavar="DIR",
        help="The directory of the ONNX files, DIR/encode.onnx, "
        "DIR/decode.onnx, ... (needs the onnx extra: "
        'pip install "keras-vae[onnx]").',
    )
    parser.add_argument(
        "--onnx-signatures",
        nargs="+",
        metavar="NAME",
        help="Only these signatures to ONNX, each of which must convert "
        "(default: encode, decode, reconstruct and score, skipping any "
        "that cannot).",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Replace an existing version directory, .tflite file or ONNX "
        "directory.",
    )
    parser.set_defaults(run=run)


def run(args):
    if not args.saved_model and not args.tflite and not args.onnx:
        raise ValueError(
            "Nothing to export: pass --saved-model DIR, --tflite FILE and/or "
            "--onnx DIR. Received: none of them"
        )
    if args.onnx_signatures and not args.onnx:
        raise ValueError(
            "--onnx-signatures needs --onnx DIR. "
            f"Received: --onnx-signatures {' '.join(args.onnx_signatures)}"
        )
    from keras_vae import export
    from keras_vae.saving import load_vae

    vae = load_vae(args.model)
    if args.tflite:
        # Refuse a model the TFLite export cannot take (a ConditionalVAE)
        # before the SavedModel is written.
        from keras_vae.export import _checks

        _checks.check_vae(vae)
    if args.onnx:
        # Refuse what the ONNX export would before anything is written.
        _check_onnx(vae, args)
    if args.saved_model:
        path = export.export_saved_model(
            vae,
            args.saved_model,
            version=args.version,
            overwrite=args.overwrite,
            resize=args.resize,
            score_samples=args.score_samples,
        )
        print(f"wrote SavedModel {path}")
    if args.tflite:
        quantization = (
            None if args.quantization == "none" else args.quantization
        )
        export.export_tflite_decoder(
            vae,
            args.tflite,
            quantization=quantization,
            overwrite=args.overwrite,
        )
        print(f"wrote TFLite decoder {args.tflite}")
    if args.onnx:
        written, skipped = export.export_onnx(
            vae,
            args.onnx,
            signatures=args.onnx_signatures,
            overwrite=args.overwrite,
            resize=args.resize,
            score_samples=args.score_samples,
        )
        for path in written.values():
            print(f"wrote ONNX {path}")
        for name, reason in skipped.items():
            print(f"skipped ONNX {name}: {reason}")
    return 0


def _check_onnx(vae, args):
    from keras_vae.export import onnx

    onnx.check_signatures(args.onnx_signatures, vae)
    if os.path.exists(args.onnx) and not args.overwrite:
        raise ValueError(
            f"{args.onnx!r} exists already. Pass --overwrite to replace it. "
            f"Received: --onnx {args.onnx}"
        )
    try:
        onnx.import_converter()
    except ImportError as error:
        # A clean error of the program, not a traceback.
        raise ValueError(str(error)) from error
