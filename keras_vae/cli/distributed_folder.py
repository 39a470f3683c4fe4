"""A folder of images read under a `tf.distribute` strategy, each worker
its shard of the files: `sharded_folder`."""

from keras_vae.cli.folder_data import folder_data
from keras_vae.cli.folder_data import folder_options
from keras_vae.cli.folder_data import has_class_folders
from keras_vae.cli.folder_data import images_only


def sharded_folder(args, strategy, batch_size, test_limit, shuffle):
    """A folder under `strategy`: `tf.distribute.DistributedDataset`s of
    which each worker's input pipeline checks, reads and decodes only its
    shard of the files, batched per replica.

    Every shard is split like the whole folder (a file's side depends only
    on its path and the seed), so the validation set is sharded too: each
    worker scores its share and the VAE's metrics sum over all replicas,
    the exact mean over all validation files. `x_test`/`y_test` come from
    this worker's validation shard."""
    import tensorflow as tf

    from keras_vae.datasets import from_path

    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        raise ValueError(
            "--batch-size is the global batch, which a folder splits evenly "
            f"over the {replicas} replicas: pass a multiple of {replicas}. "
            f"Received: --batch-size {batch_size}"
        )
    # Keras averages the first batch over the replicas to build the model;
    # a multi-worker strategy does that with collective ops, which take no
    # uint8 (the model takes any type of pixel values 0-255).
    dtype = "uint8"
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        dtype = "int32"
    shards = {}  # One pipeline per worker: built once, for both datasets.

    def pipeline(context, subset):
        index = context.input_pipeline_id
        if index not in shards:
            options = folder_options(
                args, context.get_per_replica_batch_size(batch_size), shuffle
            )
            shards[index] = from_path(
                args.data,
                validation_split=args.validation_split,
                seed=args.seed,
                labels=has_class_folders(args.data),
                shard=(context.num_input_pipelines, index),
                **options,
            )
        images = images_only(shards[index][subset]).map(
            lambda x: tf.cast(x, dtype)
        )
        return of_unknown_length(images)

    train = strategy.distribute_datasets_from_function(
        lambda context: pipeline(context, 0)
    )
    validation = strategy.distribute_datasets_from_function(
        lambda context: pipeline(context, 1)
    )
    (local_train, local_validation), *_ = shards.values()
    num_train, num_validation = sum_over_workers(
        strategy,
        [len(local_train.file_paths), len(local_validation.file_paths)],
    )
    # Keras builds the model from the first step's batches, averaged over
    # the replicas, which fails unless every replica has a full batch.
    if min(num_train, num_validation) < batch_size:
        raise ValueError(
            "Under --distribute, a folder's training and validation sets "
            "must each hold at least --batch-size files, so that every "
            f"replica's first batch is full. They hold {num_train} and "
            f"{num_validation}: pass a smaller --batch-size (or a larger "
            f"--validation-split). Received: --batch-size {batch_size}"
        )
    return folder_data(
        train,
        validation,
        local_validation,
        num_train,
        num_validation,
        test_limit,
    )


def of_unknown_length(dataset):
    """`dataset`, of unknown length to Keras and tf.distribute.

    Keras takes a distributed dataset's cardinality for its steps per
    epoch, but it counts the batches of one pipeline: as many per step as
    the worker has replicas, and one more on a worker whose shard has one
    more file across a batch boundary (a worker that stopped a step early
    would leave the others waiting in that step's all-reduce). Of unknown
    length, an epoch ends when tf.distribute finds every worker out of
    files (those out first get empty batches meanwhile)."""
    return dataset.filter(lambda x: True)


def sum_over_workers(strategy, counts):
    """This worker's `counts` summed over the workers (each worker's
    replicas hold its counts, so the sum over replicas counts each worker
    as many times as it has replicas)."""
    import tensorflow as tf

    values = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant(counts, "int64")
    )
    total = strategy.reduce("SUM", values, axis=None).numpy()
    return [int(t) // len(strategy.extended.worker_devices) for t in total]
