"""The PyTorch workers of `python -m benchmarks.throughput`: the same VAEs
as keras-vae's builders, trained by a tuned loop (in-memory batches by
index, `BCEWithLogitsLoss`), by that loop with its forward pass and loss
under `torch.compile`, or (MLP only) by the loop of PyTorch's own VAE
example."""

import os
import time

from benchmarks.throughput.common import BETA_1
from benchmarks.throughput.common import BETA_2
from benchmarks.throughput.common import LEARNING_RATE
from benchmarks.throughput.common import RESNET
from benchmarks.throughput.common import load_data
from benchmarks.throughput.common import serve


def build_net(model):
    """The `nn.Module` of `model`, with keras-vae's layers."""
    import torch
    from torch import nn

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
        return MLP()
    if model == "conv":
        return Conv(28, 1)
    if model == "conv-cifar":
        return Conv(32, 3)
    return ResNet(**RESNET)


def torch_worker(model, batch_size, limit, loop="tuned"):
    """PyTorch's training loop: `loop` is "tuned", "compile" (the tuned
    loop, its forward pass and loss one `torch.compile`d function) or
    "example", the loop of PyTorch's own VAE example
    (examples/vae/main.py): a shuffling `DataLoader`, sigmoid outputs and
    `F.binary_cross_entropy`, the loss summed over the batch."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    x = load_data(model, limit)
    x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    net = build_net(model)
    optimizer = torch.optim.Adam(
        net.parameters(), lr=LEARNING_RATE, betas=(BETA_1, BETA_2)
    )
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

    if loop == "example":
        loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(x),
            batch_size=batch_size,
            shuffle=True,
        )
        return serve(example_epoch)

    def forward_loss(batch):
        if batch.dtype == torch.uint8:  # 8-bit pixels, as keras-vae's.
            batch = batch.float().div_(255.0)
        logits, mu, logvar = net(batch)
        kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
        return (bce(logits, batch) + kl) / len(batch)

    if loop == "compile":
        # One graph per batch shape (the last, smaller batch is the second),
        # both compiled in the warm-up epoch.
        forward_loss = torch.compile(forward_loss, dynamic=False)

    def epoch():
        start = time.perf_counter()
        order = torch.randperm(len(x))
        total = 0.0
        for i in range(0, len(x), batch_size):
            batch = x[order[i : i + batch_size]]
            loss = forward_loss(batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        seconds = time.perf_counter() - start
        return len(x) / seconds, total / len(x)

    serve(epoch)
