"""`Data`: the data a `keras-vae` command trains or scores on."""

import collections

#: What a command trains or scores on. `train` and `validation` are what
#: `fit` takes (arrays, or `tf.data` datasets streamed from a folder, or,
#: under a strategy, distributed datasets of which this worker reads its
#: shard of the files); `x_test`/`y_test` are arrays of (at most
#: `test_limit`) held-out examples for pictures and summaries (`y_test`
#: None without labels); `ids` name the examples of `validation` (file
#: paths, of this worker's shard, or row numbers); `name` is the base name
#: of the output files; `num_train` and `num_validation` count the
#: examples of all workers; `steps` are the training steps of time series
#: (`kind == "series"`, one `(steps, channels)` array), which the model's
#: per-channel standardization is adapted on, and None otherwise.
Data = collections.namedtuple(
    "Data",
    "train validation x_test y_test ids input_shape kind name num_train "
    "num_validation steps",
    defaults=(None,),
)
