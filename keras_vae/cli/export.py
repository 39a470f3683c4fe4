"""`keras-vae export`: a TF Serving SavedModel and a TFLite decoder."""

QUANTIZATIONS = ("none", "float16", "dynamic_range", "int8")


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export",
        help="Export a trained VAE for TF Serving and TFLite.",
        description=(
            "Write the next version directory of a TF Serving SavedModel "
            "(signatures serving_default, reconstruct, encode, decode, "
            "sample; score for models of raw data or with labels; "
            "encode_bytes, reconstruct_bytes, score_bytes for 8-bit image "
            "models) and/or the decoder as a .tflite file."
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
        "--overwrite",
        action="store_true",
        help="Replace an existing version directory or .tflite file.",
    )
    parser.set_defaults(run=run)


def run(args):
    if not args.saved_model and not args.tflite:
        raise ValueError(
            "Nothing to export: pass --saved-model DIR and/or --tflite FILE. "
            "Received: neither"
        )
    from keras_vae import export
    from keras_vae.saving import load_vae

    vae = load_vae(args.model)
    if args.tflite:
        # Refuse a model the TFLite export cannot take (a ConditionalVAE)
        # before the SavedModel is written.
        from keras_vae.export import _checks

        _checks.check_vae(vae)
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
    return 0
