"""The JAX worker of `python -m benchmarks.throughput`: the VAEs of
keras-vae's builders in `jax.numpy` and `jax.lax` alone (no Flax, no
Optax), their parameters a pytree, trained as Flax's VAE example trains
(examples/vae/train.py): one `jax.jit`-compiled step per batch. The step
splits the random key for `z`, gathers its batch from the training set
held as one device array, takes the gradient of keras-vae's loss
(Bernoulli NLL from logits summed over pixels, plus the closed-form KL,
mean over the batch) and applies Adam as Keras writes it (epsilon 1e-7
outside the square root of the uncorrected second moment), its buffers
donated to the next step."""

import functools
import time

import numpy as np

from benchmarks.throughput.common import BETA_1
from benchmarks.throughput.common import BETA_2
from benchmarks.throughput.common import EPSILON
from benchmarks.throughput.common import LEARNING_RATE
from benchmarks.throughput.common import RESNET
from benchmarks.throughput.common import load_data
from benchmarks.throughput.common import serve


def init_params(model, key):
    """`(params, encode, decode)`: a pytree of float32 arrays (Glorot
    uniform kernels, zero biases, as Keras starts them) and the functions
    `encode(params, x) -> (mu, logvar)`, `decode(params, z) -> logits`."""
    import jax
    import jax.numpy as jnp

    keys = iter(jax.random.split(key, 64))

    def glorot(shape, fan_in, fan_out):
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return jax.random.uniform(next(keys), shape, jnp.float32, -limit, limit)

    def dense(units_in, units_out):
        return {
            "w": glorot((units_in, units_out), units_in, units_out),
            "b": jnp.zeros(units_out),
        }

    def conv(channels_in, channels_out, zero=False):
        shape = (3, 3, channels_in, channels_out)  # HWIO.
        w = glorot(shape, 9 * channels_in, 9 * channels_out)
        return {"w": w * 0 if zero else w, "b": jnp.zeros(channels_out)}

    def apply_dense(p, h):
        return h @ p["w"] + p["b"]

    def apply_conv(p, h, stride=1):
        out = jax.lax.conv_general_dilated(
            h, p["w"], (stride, stride), "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )  # fmt: skip
        return out + p["b"]

    def apply_deconv(p, h):
        """Conv2DTranspose(strides=2, padding="same"): twice the size."""
        out = jax.lax.conv_transpose(
            h, p["w"], (2, 2), "SAME",
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        )  # fmt: skip
        return out + p["b"]

    relu = jax.nn.relu

    if model == "mlp":
        params = {
            "hidden": dense(784, 400),
            "mu": dense(400, 20),
            "logvar": dense(400, 20),
            "dec_hidden": dense(20, 400),
            "params": dense(400, 784),
        }

        def encode(p, x):
            h = relu(apply_dense(p["hidden"], x.reshape(len(x), -1)))
            return apply_dense(p["mu"], h), apply_dense(p["logvar"], h)

        def decode(p, z):
            h = relu(apply_dense(p["dec_hidden"], z))
            return apply_dense(p["params"], h).reshape(len(z), 28, 28, 1)

        return params, encode, decode

    if model in ("conv", "conv-cifar"):
        size, channels = (28, 1) if model == "conv" else (32, 3)
        small = size // 4
        features = 64 * small * small
        params = {
            "conv_0": conv(channels, 32),
            "conv_1": conv(32, 64),
            "hidden": dense(features, 256),
            "mu": dense(256, 20),
            "logvar": dense(256, 20),
            "dec_hidden": dense(20, 256),
            "features": dense(256, features),
            "deconv_0": conv(64, 64),
            "deconv_1": conv(64, 32),
            "params": conv(32, channels),
        }

        def encode(p, x):
            h = relu(apply_conv(p["conv_0"], x, 2))
            h = relu(apply_conv(p["conv_1"], h, 2))
            h = relu(apply_dense(p["hidden"], h.reshape(len(h), -1)))
            return apply_dense(p["mu"], h), apply_dense(p["logvar"], h)

        def decode(p, z):
            h = relu(apply_dense(p["dec_hidden"], z))
            h = relu(apply_dense(p["features"], h))
            h = h.reshape(len(z), small, small, 64)
            h = relu(apply_deconv(p["deconv_0"], h))
            h = relu(apply_deconv(p["deconv_1"], h))
            return apply_conv(p["params"], h)

        return params, encode, decode

    # resnet-cifar: build_resnet_vae((32, 32, 3), **RESNET).
    filters = RESNET["filters"]
    blocks = RESNET["blocks_per_stage"]
    latent = RESNET["latent_dim"]
    small = 32 // 2 ** len(filters)
    features = filters[-1] * small * small

    def block(width):
        return {
            "conv_0": conv(width, width),
            "conv_1": conv(width, width, True),
        }

    def apply_block(p, h):
        r = relu(apply_conv(p["conv_0"], relu(h)))
        return h + apply_conv(p["conv_1"], r)

    params = {"down": [], "up": []}
    width = 3
    for f in filters:
        params["down"].append(
            {
                "conv": conv(width, f),
                "blocks": [block(f) for _ in range(blocks)],
            }
        )
        width = f
    params["mu"] = dense(features, latent)
    params["logvar"] = dense(features, latent)
    params["features"] = dense(latent, features)
    for i in reversed(range(len(filters))):
        params["up"].append(
            {
                "blocks": [block(filters[i]) for _ in range(blocks)],
                "deconv": conv(filters[i], filters[max(i - 1, 0)]),
            }
        )
    params["params"] = conv(filters[0], 3)

    def encode(p, x):
        h = x
        for i, stage in enumerate(p["down"]):
            h = apply_conv(stage["conv"], relu(h) if i else h, 2)
            for b in stage["blocks"]:
                h = apply_block(b, h)
        h = relu(h).reshape(len(h), -1)
        return apply_dense(p["mu"], h), apply_dense(p["logvar"], h)

    def decode(p, z):
        h = apply_dense(p["features"], z)
        h = h.reshape(len(z), small, small, filters[-1])
        for stage in p["up"]:
            for b in stage["blocks"]:
                h = apply_block(b, h)
            h = apply_deconv(stage["deconv"], relu(h))
        return apply_conv(p["params"], relu(h))

    return params, encode, decode


def jax_worker(model, batch_size, limit):
    import jax
    import jax.numpy as jnp

    x_host = load_data(model, limit)
    x = jnp.asarray(x_host)
    params, encode, decode = init_params(model, jax.random.key(0))

    def loss_fn(params, batch, key):
        mu, logvar = encode(params, batch)
        eps = jax.random.normal(key, mu.shape)
        z = mu + eps * jnp.exp(0.5 * logvar)
        logits = decode(params, z)
        # -log p(x|z) of a Bernoulli from its logits: softplus(l) - x * l.
        reconstruction = jnp.sum(jax.nn.softplus(logits) - batch * logits)
        kl = -0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar))
        return (reconstruction + kl) / len(batch)

    @functools.partial(jax.jit, donate_argnums=0)
    def step(state, x, indices):
        params, m, v, t, key, total = state
        key, z_key = jax.random.split(key)
        batch = x[indices]
        if batch.dtype == jnp.uint8:  # 8-bit pixels, as keras-vae's.
            batch = batch.astype(jnp.float32) / 255.0
        loss, grads = jax.value_and_grad(loss_fn)(params, batch, z_key)
        t = t + 1
        m = jax.tree.map(lambda m, g: BETA_1 * m + (1 - BETA_1) * g, m, grads)
        v = jax.tree.map(
            lambda v, g: BETA_2 * v + (1 - BETA_2) * g * g, v, grads
        )
        alpha = LEARNING_RATE * jnp.sqrt(1 - BETA_2**t) / (1 - BETA_1**t)
        params = jax.tree.map(
            lambda p, m, v: p - alpha * m / (jnp.sqrt(v) + EPSILON),
            params,
            m,
            v,
        )
        return params, m, v, t, key, total + loss * len(batch)

    state = (  # params, Adam's moments and step, key, the epoch's loss.
        params,
        jax.tree.map(jnp.zeros_like, params),
        jax.tree.map(jnp.zeros_like, params),
        jnp.zeros((), jnp.float32),
        jax.random.key(1),
        jnp.zeros((), jnp.float32),
    )
    rng = np.random.default_rng(0)

    def epoch():
        nonlocal state
        start = time.perf_counter()
        order = rng.permutation(len(x_host)).astype(np.int32)
        for i in range(0, len(order), batch_size):
            state = step(state, x, order[i : i + batch_size])
        total = float(state[-1])  # Waits for the last step.
        seconds = time.perf_counter() - start
        state = (*state[:-1], jnp.zeros((), jnp.float32))
        return len(x_host) / seconds, total / len(x_host)

    serve(epoch)
