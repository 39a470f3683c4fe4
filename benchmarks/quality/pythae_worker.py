"""pythae's side of benchmarks.quality.side_by_side, run with a Python that
has pythae and PyTorch (not keras-vae):

    /path/to/pythae-venv/bin/python benchmarks/quality/pythae_worker.py \\
        --data DATA.npz --minutes 10 --latent-dim 16 --out RUN

`DATA.npz` holds `x_train` and `x_test`, float32 `(n, H, W, C)` in `[0, 1]`.
The worker builds pythae's `VAE` with an encoder and a decoder that mirror
`keras_vae.build_conv_vae` layer for layer (two stride-2 3x3 convolutions of
32 and 64 filters, a dense layer of 256 units, and back), trains it with
pythae's own `BaseTrainer` (Adam at 1e-3, batch 100) until the budget of
training minutes is spent, then draws 10,000 samples with pythae's
`NormalSampler` (N(0, I)) and its `GaussianMixtureSampler` (10 components,
fitted to the encoded training set), and writes `RUN_normal.npz`,
`RUN_gmm.npz` (the samples, float16 `(n, H, W, C)` in `[0, 1]`) and
`RUN.json` (training minutes, epochs, test -ELBO in nats per image,
samples per second, parameters).
"""

import argparse
import json
import tempfile
import time

import numpy as np
import torch
from pythae.data.preprocessors import DataProcessor
from pythae.models import VAE
from pythae.models import VAEConfig
from pythae.models.base.base_utils import ModelOutput
from pythae.models.nn import BaseDecoder
from pythae.models.nn import BaseEncoder
from pythae.samplers import GaussianMixtureSampler
from pythae.samplers import GaussianMixtureSamplerConfig
from pythae.samplers import NormalSampler
from pythae.trainers import BaseTrainer
from pythae.trainers import BaseTrainerConfig
from pythae.trainers.training_callbacks import TrainingCallback

FILTERS = (32, 64)
HIDDEN = 256


class Encoder(BaseEncoder):
    def __init__(self, shape, latent_dim):
        super().__init__()
        h, w, c = shape
        self.convs = torch.nn.Sequential(
            torch.nn.Conv2d(c, FILTERS[0], 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Conv2d(FILTERS[0], FILTERS[1], 3, stride=2, padding=1),
            torch.nn.ReLU(),
            torch.nn.Flatten(),
        )
        flat = FILTERS[1] * ((h + 3) // 4) * ((w + 3) // 4)
        self.hidden = torch.nn.Sequential(
            torch.nn.Linear(flat, HIDDEN), torch.nn.ReLU()
        )
        self.mean = torch.nn.Linear(HIDDEN, latent_dim)
        self.log_var = torch.nn.Linear(HIDDEN, latent_dim)

    def forward(self, x):
        h = self.hidden(self.convs(x))
        return ModelOutput(
            embedding=self.mean(h), log_covariance=self.log_var(h)
        )


class Decoder(BaseDecoder):
    def __init__(self, shape, latent_dim):
        super().__init__()
        h, w, c = shape
        self.small = (FILTERS[1], (h + 3) // 4, (w + 3) // 4)
        self.dense = torch.nn.Sequential(
            torch.nn.Linear(latent_dim, HIDDEN),
            torch.nn.ReLU(),
            torch.nn.Linear(HIDDEN, int(np.prod(self.small))),
            torch.nn.ReLU(),
        )
        # 7 -> 14 -> 28 for MNIST, 8 -> 16 -> 32 for CIFAR-10.
        self.deconvs = torch.nn.Sequential(
            torch.nn.ConvTranspose2d(
                FILTERS[1], FILTERS[1], 3, 2, padding=1, output_padding=1
            ),
            torch.nn.ReLU(),
            torch.nn.ConvTranspose2d(
                FILTERS[1], FILTERS[0], 3, 2, padding=1, output_padding=1
            ),
            torch.nn.ReLU(),
            torch.nn.Conv2d(FILTERS[0], c, 3, padding=1),
            torch.nn.Sigmoid(),
        )

    def forward(self, z):
        h = self.dense(z).reshape((-1,) + self.small)
        return ModelOutput(reconstruction=self.deconvs(h))


class StopTraining(Exception):
    """Raised by `TimeBudget` when the training minutes are spent."""


class TimeBudget(TrainingCallback):
    def __init__(self, seconds):
        self.seconds = seconds
        self.start = None
        self.epochs = 0

    def on_train_step_begin(self, training_config, **kwargs):
        if self.start is None:
            self.start = time.perf_counter()

    def on_train_step_end(self, training_config, **kwargs):
        if time.perf_counter() - self.start > self.seconds:
            raise StopTraining

    def on_epoch_end(self, training_config, **kwargs):
        self.epochs += 1


def test_elbo(model, x, batch_size=500):
    """The mean negative ELBO of `x` (one draw of z per image), nats."""
    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = x[start : start + batch_size]
            out = model({"data": batch})
            total += float(out.loss) * len(batch)
    return total / len(x)


def draw(sampler, n, seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    start = time.perf_counter()
    samples = sampler.sample(num_samples=n, batch_size=500, return_gen=True)
    seconds = time.perf_counter() - start
    samples = samples.permute(0, 2, 3, 1).numpy().astype("float16")
    return samples, n / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("--latent-dim", type=int, default=16)
    parser.add_argument("--loss", default="bce", choices=["bce", "mse"])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(args.threads)
    torch.manual_seed(args.seed)
    data = np.load(args.data)
    x_train, x_test = (
        torch.from_numpy(data[k]).permute(0, 3, 1, 2).contiguous()
        for k in ("x_train", "x_test")
    )
    shape = data["x_train"].shape[1:]
    model = VAE(
        model_config=VAEConfig(
            input_dim=tuple(x_train.shape[1:]),
            latent_dim=args.latent_dim,
            reconstruction_loss=args.loss,
        ),
        encoder=Encoder(shape, args.latent_dim),
        decoder=Decoder(shape, args.latent_dim),
    )
    budget = TimeBudget(args.minutes * 60)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = BaseTrainer(
            model=model,
            train_dataset=DataProcessor().to_dataset(x_train),
            training_config=BaseTrainerConfig(
                output_dir=tmp,
                num_epochs=10**6,
                learning_rate=1e-3,
                per_device_train_batch_size=100,
                steps_saving=None,
                seed=args.seed,
            ),
            callbacks=[budget],
        )
        try:
            trainer.train()
        except StopTraining:
            pass
    minutes = (time.perf_counter() - budget.start) / 60
    model = trainer.model.eval()
    result = {
        "framework": "pythae",
        "training_minutes": minutes,
        "epochs": budget.epochs,
        "test_elbo_nats": test_elbo(model, x_test),
        "parameters": sum(p.numel() for p in model.parameters()),
        "samples_per_second": {},
    }
    gmm = GaussianMixtureSampler(
        model, GaussianMixtureSamplerConfig(n_components=10)
    )
    gmm.fit(x_train)
    for name, sampler in (("normal", NormalSampler(model)), ("gmm", gmm)):
        samples, rate = draw(sampler, args.samples, args.seed)
        np.savez_compressed(f"{args.out}_{name}.npz", samples=samples)
        result["samples_per_second"][name] = rate
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
