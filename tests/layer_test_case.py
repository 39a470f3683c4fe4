"""The checks every keras-vae layer passes, in the manner of keras-hub.

`run_layer_test` builds the layer from its arguments and checks, in order:
the `get_config`/`from_config` round trip, a symbolic call on `keras.Input`,
an eager call whose output shapes equal `compute_output_shape`, the number
of losses and seed generators, and one `fit` step of a tiny model around
the layer, first under "float32" and then under "mixed_float16".
"""

import keras
import numpy as np
from keras import ops


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shapes,
    expected_output_shapes,
    expected_num_losses=0,
    expected_num_seed_generators=0,
):
    """Runs the common layer checks.

    Args:
        layer_cls: The layer class.
        init_kwargs: The constructor arguments.
        input_shapes: A list of input shapes, batch axis included.
        expected_output_shapes: A list of output shapes, batch axis
            included, in the order the layer returns its outputs.
        expected_num_losses: How many losses one call adds.
        expected_num_seed_generators: How many `SeedGenerator`s the layer
            owns.
    """
    check_config_round_trip(layer_cls, init_kwargs)
    check_symbolic_call(
        layer_cls, init_kwargs, input_shapes, expected_output_shapes
    )
    check_eager_call(
        layer_cls,
        init_kwargs,
        input_shapes,
        expected_output_shapes,
        expected_num_losses,
        expected_num_seed_generators,
    )
    for policy in ("float32", "mixed_float16"):
        check_fit_one_step(layer_cls, init_kwargs, input_shapes, policy)


def check_config_round_trip(layer_cls, init_kwargs):
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    for key, value in init_kwargs.items():
        assert config[key] == value, key
    revived = layer_cls.from_config(config)
    assert revived.get_config() == config
    # Through the registered name too, as `load_model` finds it.
    serialized = keras.saving.serialize_keras_object(layer)
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is layer_cls
    assert revived.get_config() == config


def check_symbolic_call(
    layer_cls, init_kwargs, input_shapes, expected_output_shapes
):
    layer = layer_cls(**init_kwargs)
    inputs = [keras.Input(batch_shape=shape) for shape in input_shapes]
    outputs = _as_list(layer(inputs))
    assert [tuple(t.shape) for t in outputs] == [
        tuple(s) for s in expected_output_shapes
    ]


def check_eager_call(
    layer_cls,
    init_kwargs,
    input_shapes,
    expected_output_shapes,
    expected_num_losses,
    expected_num_seed_generators,
):
    layer = layer_cls(**init_kwargs)
    rng = np.random.default_rng(0)
    data = [rng.normal(size=shape).astype("float32") for shape in input_shapes]
    outputs = _as_list(layer(data))
    eager_shapes = [tuple(ops.shape(t)) for t in outputs]
    assert eager_shapes == [tuple(s) for s in expected_output_shapes]
    computed = _as_shape_list(layer.compute_output_shape(input_shapes))
    assert computed == eager_shapes
    for t in outputs:
        assert np.all(np.isfinite(ops.convert_to_numpy(t)))
    assert len(layer.losses) == expected_num_losses
    assert len(layer._seed_generators) == expected_num_seed_generators


def check_fit_one_step(layer_cls, init_kwargs, input_shapes, policy):
    """Fits a Dense -> layer -> Dense model for one step under `policy`."""
    keras.config.set_dtype_policy(policy)
    try:
        inputs = [keras.Input(shape=shape[1:]) for shape in input_shapes]
        # A trainable layer in front, so gradients flow through the layer.
        hidden = [
            keras.layers.Dense(shape[-1])(t)
            for shape, t in zip(input_shapes, inputs)
        ]
        layer = layer_cls(**init_kwargs)
        outputs = _as_list(layer(hidden))
        merged = (
            keras.layers.Concatenate()(outputs)
            if len(outputs) > 1
            else outputs[0]
        )
        model = keras.Model(inputs, keras.layers.Dense(1)(merged))
        # Without loss scaling: dynamic scaling skips its first steps when
        # the scaled float16 gradients overflow, which is not what this
        # checks.
        model.compile(optimizer="sgd", loss="mse", auto_scale_loss=False)
        rng = np.random.default_rng(0)
        batch = input_shapes[0][0] or 4
        x = [
            rng.normal(size=(batch,) + tuple(s[1:])).astype("float32")
            for s in input_shapes
        ]
        y = rng.normal(size=(batch, 1)).astype("float32")
        before = [w.numpy().copy() for w in model.trainable_weights]
        history = model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        after = [w.numpy() for w in model.trainable_weights]
        # The first Dense layer is in front of the layer under test: it only
        # moves if gradients flow back through it.
        assert not np.array_equal(before[0], after[0])
        assert layer.dtype_policy.name == policy
    finally:
        keras.config.set_dtype_policy("float32")


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


def _as_shape_list(shapes):
    if shapes and isinstance(shapes[0], (list, tuple)):
        return [tuple(s) for s in shapes]
    return [tuple(shapes)]
