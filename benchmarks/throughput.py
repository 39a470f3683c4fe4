"""Training throughput of keras-vae against the same VAE in PyTorch.

Each framework trains in its own worker process (no shared thread pools,
separate peak memory). The workers alternate, A B A B, one epoch at a time
after a warm-up epoch, and the table reports medians of samples per second,
the ratio keras-vae / PyTorch measured side by side, the fraction of this
machine's measured float32 matmul peak, and each process's peak RSS.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python benchmarks/throughput.py

keras-vae runs with its defaults: `vae.compile(optimizer=Adam(1e-3))` and
one `vae.fit(x, batch_size=128, epochs=...)`, timed epoch by epoch by a
callback that also waits for the parent between epochs, as a user's run
of many epochs goes; `fit`'s one-time set-up (checking the data, building
the input pipeline) is left out, as PyTorch's tensor conversion is.

The PyTorch reference has the same layers, loss (Bernoulli NLL from
logits summed over pixels, plus the closed-form KL, mean over the batch)
and Adam(1e-3), and reads shuffled batches from an in-memory tensor (its
fastest input path). For the MLP, a third worker runs the training loop of
PyTorch's own VAE example (a shuffling `DataLoader`, sigmoid outputs and
`F.binary_cross_entropy`), the reference the speed target was set against.
PyTorch is an optional benchmark dependency: `pip install torch==2.13.0`.

The CIFAR-size rows (`conv-cifar`, `resnet-cifar`) train on 32x32x3 uint8
images (random pixels: the speed of these networks does not depend on the
values) with `preprocessing="8bit"`; PyTorch's loop converts each batch to
floats in [0, 1] as it goes. `conv-cifar` is `build_conv_vae((32, 32, 3))`,
`resnet-cifar` is `build_resnet_vae((32, 32, 3))` (`RESNET`); PyTorch has
the same layers, the residual blocks' zero-started convolutions included.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np
from machine import WorkerProcess
from machine import machine
from machine import peak_rss_mb
from machine import save_report


def flops_per_example(vae):
    """Matrix work of one training example of `vae`: the multiply-adds of
    its `Dense`, `Conv2D` and `Conv2DTranspose` layers, times 2 (forward)
    times 3 (forward + two backward products). A strided transposed
    convolution does the work of its input resolution."""
    import keras

    macs = 0
    for model in (vae.encoder, vae.decoder):
        for layer in model.layers:
            if isinstance(layer, keras.layers.Dense):
                macs += layer.kernel.shape[0] * layer.kernel.shape[1]
            elif isinstance(layer, keras.layers.Conv2DTranspose):
                height, width = layer.input.shape[1:3]
                macs += height * width * int(np.prod(layer.kernel.shape))
            elif isinstance(layer, keras.layers.Conv2D):
                height, width = layer.output.shape[1:3]
                macs += height * width * int(np.prod(layer.kernel.shape))
    return 2 * 3 * macs


#: The residual VAE of the `resnet-cifar` rows, in both frameworks.
RESNET = {"filters": (32, 64, 128), "blocks_per_stage": 1, "latent_dim": 128}


def build_keras_vae(model):
    import keras_vae

    if model == "mlp":
        return keras_vae.build_mlp_vae(input_shape=(28, 28, 1))
    if model == "conv":
        return keras_vae.build_conv_vae(input_shape=(28, 28, 1))
    if model == "conv-cifar":
        return keras_vae.build_conv_vae(
            input_shape=(32, 32, 3), preprocessing="8bit"
        )
    return keras_vae.build_resnet_vae(
        input_shape=(32, 32, 3), preprocessing="8bit", **RESNET
    )


def load_data(model, limit):
    """MNIST in [0, 1] for `mlp` and `conv`, else `limit` 32x32x3 uint8
    images of random pixels."""
    if model.endswith("cifar"):
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (limit, 32, 32, 3), dtype="uint8")
    import keras_vae

    (x, _), _ = keras_vae.datasets.load_mnist()
    return x[:limit]


# --------------------------------------------------------------------------
# Workers: each reads "epoch" or "stats" lines and answers one JSON line.


def keras_worker(model, batch_size, limit):
    import keras

    x = load_data(model, limit)
    keras.utils.set_random_seed(0)
    vae = build_keras_vae(model)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    flops = flops_per_example(vae)

    class Serve(keras.callbacks.Callback):
        """Times each epoch of one long `fit`, as a user runs it, and
        waits for the parent between epochs (the first is the warm-up)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start
            answer = {"rate": len(x) / seconds, "loss": logs["loss"]}
            ready = {"ready": True, "flops_per_example": flops}
            if not serve_one(answer if epoch else ready):
                self.model.stop_training = True

    vae.fit(
        x, epochs=10**6, batch_size=batch_size, verbose=0, callbacks=[Serve()]
    )


def torch_worker(model, batch_size, limit, example=False):
    """PyTorch's training loop; with `example`, the loop of PyTorch's own
    VAE example (examples/vae/main.py): a shuffling `DataLoader`, sigmoid
    outputs and `F.binary_cross_entropy`, the loss summed over the batch."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    x = load_data(model, limit)
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(784, 400)
            self.fc21 = nn.Linear(400, 20)
            self.fc22 = nn.Linear(400, 20)
            self.fc3 = nn.Linear(20, 400)
            self.fc4 = nn.Linear(400, 784)

        def forward(self, x):
            h = torch.relu(self.fc1(x.flatten(1)))
            mu, logvar = self.fc21(h), self.fc22(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            logits = self.fc4(torch.relu(self.fc3(z)))
            return logits.view_as(x), mu, logvar

    class Conv(nn.Module):
        """build_conv_vae((size, size, channels)): 28x28x1 or 32x32x3."""

        def __init__(self, size, channels):
            super().__init__()
            small = size // 4
            features = 64 * small * small
            self.enc = nn.Sequential(
                nn.Conv2d(channels, 32, 3, 2, 1),
                nn.ReLU(),
                nn.Conv2d(32, 64, 3, 2, 1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(features, 256),
                nn.ReLU(),
            )
            self.mu = nn.Linear(256, 20)
            self.logvar = nn.Linear(256, 20)
            self.dec = nn.Sequential(
                nn.Linear(20, 256),
                nn.ReLU(),
                nn.Linear(256, features),
                nn.ReLU(),
                nn.Unflatten(1, (64, small, small)),
                nn.ConvTranspose2d(64, 64, 3, 2, 1, output_padding=1),
                nn.ReLU(),
                nn.ConvTranspose2d(64, 32, 3, 2, 1, output_padding=1),
                nn.ReLU(),
                nn.Conv2d(32, channels, 3, 1, 1),
            )

        def forward(self, x):
            h = self.enc(x)
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return self.dec(z), mu, logvar

    class Block(nn.Module):
        """h + conv(relu(conv(relu(h)))), the second conv started at 0."""

        def __init__(self, width):
            super().__init__()
            self.conv_0 = nn.Conv2d(width, width, 3, 1, 1)
            self.conv_1 = nn.Conv2d(width, width, 3, 1, 1)
            nn.init.zeros_(self.conv_1.weight)
            nn.init.zeros_(self.conv_1.bias)

        def forward(self, h):
            r = self.conv_0(torch.relu(h))
            return h + self.conv_1(torch.relu(r))

    class ResNet(nn.Module):
        """build_resnet_vae((32, 32, 3), **RESNET)."""

        def __init__(self, filters, blocks_per_stage, latent_dim):
            super().__init__()
            encoder, width = [], 3
            for i, f in enumerate(filters):
                if i:
                    encoder.append(nn.ReLU())
                encoder.append(nn.Conv2d(width, f, 3, 2, 1))
                encoder += [Block(f) for _ in range(blocks_per_stage)]
                width = f
            small = 32 // 2 ** len(filters)
            features = filters[-1] * small * small
            self.enc = nn.Sequential(*encoder, nn.ReLU(), nn.Flatten())
            self.mu = nn.Linear(features, latent_dim)
            self.logvar = nn.Linear(features, latent_dim)
            decoder = [
                nn.Linear(latent_dim, features),
                nn.Unflatten(1, (filters[-1], small, small)),
            ]
            for i in reversed(range(len(filters))):
                decoder += [Block(filters[i]) for _ in range(blocks_per_stage)]
                decoder += [
                    nn.ReLU(),
                    nn.ConvTranspose2d(
                        filters[i], filters[max(i - 1, 0)], 3, 2, 1, 1
                    ),
                ]
            decoder += [nn.ReLU(), nn.Conv2d(filters[0], 3, 3, 1, 1)]
            self.dec = nn.Sequential(*decoder)

        def forward(self, x):
            h = self.enc(x)
            mu, logvar = self.mu(h), self.logvar(h)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
            return self.dec(z), mu, logvar

    if model == "mlp":
        net = MLP()
    elif model == "conv":
        net = Conv(28, 1)
    elif model == "conv-cifar":
        net = Conv(32, 3)
    else:
        net = ResNet(**RESNET)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    bce = nn.BCEWithLogitsLoss(reduction="sum")

    def example_epoch():
        # Over a TensorDataset, not torchvision's MNIST with a per-image
        # ToTensor: faster than the example itself.
        start = time.perf_counter()
        total = 0.0
        for (batch,) in loader:
            optimizer.zero_grad()
            logits, mu, logvar = net(batch)
            reconstruction = torch.sigmoid(logits).view(-1, 784)
            loss = F.binary_cross_entropy(
                reconstruction, batch.view(-1, 784), reduction="sum"
            )
            loss = loss - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss.backward()
            total += loss.item()
            optimizer.step()
        seconds = time.perf_counter() - start
        return len(x) / seconds, total / len(x)

    if example:
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x),
            batch_size=batch_size,
            shuffle=True,
        )
        return serve(example_epoch)

    def epoch():
        start = time.perf_counter()
        order = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), batch_size):
            batch = x[order[i : i + batch_size]]
            if batch.dtype == torch.uint8:  # 8-bit pixels, as keras-vae's.
                batch = batch.float().div_(255.0)
            logits, mu, logvar = net(batch)
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (bce(logits, batch) + kl) / len(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        seconds = time.perf_counter() - start
        return len(x) / seconds, total / len(x)

    serve(epoch)


def serve(epoch):
    """Runs epochs as the parent asks; the first one is the warm-up."""
    epoch()  # Warm-up: tracing, compilation, allocator.
    answer = {"ready": True}
    while serve_one(answer):
        rate, loss = epoch()
        answer = {"rate": rate, "loss": loss}


def serve_one(answer):
    """Prints `answer` and waits for the parent's next command: returns
    True for "epoch", answers "stats" itself, False at the end of input."""
    print(json.dumps(answer), flush=True)
    for line in sys.stdin:
        if line.strip() == "epoch":
            return True
        if line.strip() == "stats":
            print(json.dumps({"peak_rss_mb": peak_rss_mb()}), flush=True)
    return False


# --------------------------------------------------------------------------


class Worker(WorkerProcess):
    def __init__(self, framework, model, batch_size, limit):
        super().__init__(
            __file__,
            [
                "--worker",
                framework,
                "--model",
                model,
                "--batch-size",
                str(batch_size),
                "--limit",
                str(limit),
            ],
        )


def peak_worker():
    """Prints the float32 matmul GFLOP/s (1024^3, median of 20) of the
    fastest kernel here: TensorFlow's, XLA's, and PyTorch's if installed."""
    import tensorflow as tf

    a = tf.random.normal((1024, 1024))
    b = tf.random.normal((1024, 1024))
    kernels = {
        "tensorflow": tf.function(lambda: tf.matmul(a, b)),
        "xla": tf.function(lambda: tf.matmul(a, b), jit_compile=True),
    }
    try:
        import torch

        torch.set_num_threads(os.cpu_count())
        ta, tb = torch.from_numpy(a.numpy()), torch.from_numpy(b.numpy())
        kernels["pytorch"] = lambda: torch.matmul(ta, tb)
    except ImportError:
        pass
    gflops = {}
    for name, matmul in kernels.items():
        np.asarray(matmul())
        times = []
        for _ in range(20):
            start = time.perf_counter()
            np.asarray(matmul())
            times.append(time.perf_counter() - start)
        gflops[name] = 2 * 1024**3 / np.median(times) / 1e9
    print(json.dumps({"gflops": max(gflops.values()), "kernels": gflops}))


def matmul_peak_gflops():
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "peak"],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["kernels"]


#: The workers that train each model. PyTorch's VAE example is an MLP.
FRAMEWORKS = {
    "mlp": ("keras-vae", "pytorch", "pytorch-example"),
    "conv": ("keras-vae", "pytorch"),
    "conv-cifar": ("keras-vae", "pytorch"),
    "resnet-cifar": ("keras-vae", "pytorch"),
}


def run(model, batch_size, limit, repeats, peak):
    workers = {
        name: Worker(name, model, batch_size, limit)
        for name in FRAMEWORKS[model]
    }
    rates = {name: [] for name in workers}
    losses = {name: [] for name in workers}
    for _ in range(repeats):
        for name, worker in workers.items():  # A B A B ...
            answer = worker.ask("epoch")
            rates[name].append(answer["rate"])
            losses[name].append(answer["loss"])
    rss = {name: w.ask("stats")["peak_rss_mb"] for name, w in workers.items()}
    for worker in workers.values():
        worker.close()
    flops = workers["keras-vae"].ready["flops_per_example"]
    rows = []
    for name in workers:
        median = float(np.median(rates[name]))
        rows.append(
            {
                "model": model,
                "framework": name,
                "samples_per_s": median,
                "runs": [round(r) for r in rates[name]],
                "peak_fraction": median * flops / 1e9 / peak,
                "peak_rss_mb": rss[name],
                "last_loss": losses[name][-1],
            }
        )
    for row in rows[1:]:  # keras-vae / this framework, epoch by epoch.
        pairs = zip(rates["keras-vae"], rates[row["framework"]])
        row["ratio"] = float(np.median([a / b for a, b in pairs]))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--worker", choices=("keras-vae", "pytorch", "pytorch-example", "peak")
    )
    parser.add_argument("--model", choices=tuple(FRAMEWORKS), default="mlp")
    parser.add_argument(
        "--models", nargs="*", choices=tuple(FRAMEWORKS), default=[*FRAMEWORKS]
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--limit", type=int, default=60000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="A smoke test: 6,400 examples, 2 repeats.",
    )
    parser.add_argument("--output", default="docs/performance.md")
    args = parser.parse_args()
    if args.worker == "keras-vae":
        return keras_worker(args.model, args.batch_size, args.limit)
    if args.worker == "pytorch":
        return torch_worker(args.model, args.batch_size, args.limit)
    if args.worker == "pytorch-example":
        return torch_worker(args.model, args.batch_size, args.limit, True)
    if args.worker == "peak":
        return peak_worker()
    if args.quick:
        args.limit, args.repeats = 6400, 2

    kernels = matmul_peak_gflops()
    peak = max(kernels.values())
    table = []
    for model in args.models:
        limit = args.limit if model == "mlp" else min(args.limit, 12800)
        table.append(run(model, args.batch_size, limit, args.repeats, peak))
    report(args, kernels, table)


def report(args, kernels, table):
    import keras
    import tensorflow as tf

    try:
        import torch

        torch_version = torch.__version__
    except ImportError:
        torch_version = "not installed"
    lines = [
        "## Training throughput: keras-vae against PyTorch",
        "",
        f"Measured {datetime.datetime.now():%Y-%m-%d %H:%M} on {machine()}, "
        f"Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, "
        f"PyTorch {torch_version}; float32 matmul peak measured "
        f"{max(kernels.values()):.0f} GFLOP/s (1024x1024 by 1024x1024, "
        + ", ".join(f"{k} {v:.0f}" for k, v in kernels.items())
        + ").",
        "",
        "```bash",
        "KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python "
        f"benchmarks/throughput.py --batch-size {args.batch_size} "
        f"--limit {args.limit} --repeats {args.repeats} "
        f"--models {' '.join(args.models)}"
        + (" --quick" if args.quick else "")
        + (
            f" --output {args.output}"
            if args.output != "docs/performance.md"
            else ""
        ),
        "```",
        "",
        "| model | framework | samples/s (median) | runs | of matmul peak "
        "| peak RSS (MB) | ratio keras-vae / this |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for rows in table:
        for row in rows:
            lines.append(
                f"| {row['model']} | {row['framework']} "
                f"| {row['samples_per_s']:.0f}"
                f" | {row['runs']} | {row['peak_fraction']:.0%} | "
                f"{row['peak_rss_mb']:.0f} | "
                + (f"**{row['ratio']:.2f}**" if "ratio" in row else "")
                + " |"
            )
    if args.output:
        save_report("\n".join(lines) + "\n", args.output)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
