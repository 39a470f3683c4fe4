"""Diagnostics of the CIFAR-10 hierarchy: what grows before a divergence, and
how far each group's prior is from its posteriors.

Trains `build_hierarchical_vae` as `cifar10_bits` does (one discretized
logistic, the cosine learning-rate budget, batch 64) on the first `--train-n`
training images, and writes JSON lines to `--log`:

- every execution of the training function (32 steps): the step, the loss
  and each `kl_group_i` of those 32 steps, and `gradient_norm` (the mean of
  those steps, where a gradient option is on);
- every `--probe-every` executions: on 256 fixed training images, each
  group's posterior and prior log-variance range, the largest `|q_mean|`,
  the KL per group and the range of the decoder's log-scales (the
  log-variances as the model uses them, after `log_variance_bound`);
- at the end (`"final"`), on 1,000 test images: each group's KL along the
  posterior path, the top group's aggregate posterior (mean and variance of
  its draws, which `N(0, I)` should match), and for each group the mean
  square of the draws on the posterior path against ancestral draws;
  and saves samples with one temperature per group to `--pictures`.

It reads the model's internals (`_top_down`, `_split_groups`): a tool for
this diagnosis, not an example. The runs it made are in the notes of
docs/benchmarks/cifar10.md.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.likelihood.cifar10_hvae_diagnostics --minutes 13 \\
        --schedule-minutes 30 --log /tmp/hvae.jsonl --pictures /tmp/hvae \\
        --builder-args '{"filters": [32, 64], "latent_channels": [[8, 8],
        [8]], "log_variance_bound": null, "clip_gradient_norm": 1e30,
        "skip_gradient_norm": null}'

(the recipe with the stability options off; a clip of 1e30 never clips
but makes `fit` log `gradient_norm`). The learning-rate test adds
`--lr 5e-3 --minutes 3 --probe-every 1`.
"""

import argparse
import json
import math
import os
import tarfile
import tempfile

import keras
import numpy as np
from keras import ops

import keras_vae
from benchmarks.likelihood.cifar10_bits import likelihood
from benchmarks.likelihood.cifar10_bits import load_cifar10
from benchmarks.likelihood.mnist_nll import TimeBudget
from benchmarks.training.streaming import ARCHIVE


def group_draws(vae, x, noise_scale=1.0, seed=0):
    """Per group, the posterior `(q_mean, q_log_var)`, the prior `(p_mean,
    p_log_var)` (zeros at the top) and the draw `z_i ~ q`, along one
    posterior path of `x`, as NumPy arrays."""
    generator = keras.random.SeedGenerator(seed)
    rows = []

    def choose(i, q, p):
        if p is None:
            p = (ops.zeros_like(q[0]), ops.zeros_like(q[1]))
        eps = keras.random.normal(ops.shape(q[0]), seed=generator)
        z = q[0] + noise_scale * ops.exp(0.5 * q[1]) * eps
        rows.append([ops.convert_to_numpy(t) for t in (*q, *p, z)])
        return z

    inputs = vae.model_inputs(x)
    h = vae._top_down(vae._features(inputs, False), choose, False)
    params = ops.convert_to_numpy(vae.decoder(h, training=False))
    return rows, params


def closed_kl(qm, qlv, pm, plv):
    """KL(q || p) per image, summed over the group."""
    kl = 0.5 * (plv - qlv + (np.exp(qlv) + (qm - pm) ** 2) / np.exp(plv) - 1)
    return kl.reshape(len(kl), -1).sum(axis=1)


def probe(vae, x):
    rows, params = group_draws(vae, x)
    out = {}
    for i, (qm, qlv, pm, plv, _) in enumerate(rows):
        out[f"g{i}"] = {
            "q_lv": [float(qlv.min()), float(qlv.max())],
            "p_lv": [float(plv.min()), float(plv.max())],
            "q_mean_max": float(np.abs(qm).max()),
            "kl": float(closed_kl(qm, qlv, pm, plv).mean()),
        }
    log_scales = params[..., 1::3]
    out["log_scale"] = [float(log_scales.min()), float(log_scales.max())]
    out["weights_finite"] = bool(
        all(np.isfinite(w).all() for w in vae.get_weights())
    )
    return out


class Monitor(keras.callbacks.Callback):
    batch_hooks_per_execution = True

    def __init__(self, path, probe_x, probe_every):
        super().__init__()
        self.file = open(path, "a")
        self.probe_x = probe_x
        self.probe_every = probe_every
        self.calls = 0
        self.previous = {}

    def write(self, row):
        self.file.write(json.dumps(row) + "\n")
        self.file.flush()

    def on_epoch_begin(self, epoch, logs=None):
        self.previous = {}
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # `logs` hold the epoch's running means: the means of the last
        # execution's steps are the differences of the running sums.
        steps = batch + 1
        row = {
            "epoch": self.epoch,
            "step": int(self.model.optimizer.iterations),
        }
        done = self.previous.get("steps", 0)
        for key, value in (logs or {}).items():
            value = float(value)
            if key == "skipped_updates":
                row[key] = value
                continue
            total = value * steps
            before = self.previous.get(key, 0.0) * done
            row[key] = (total - before) / max(steps - done, 1)
        self.previous = {**(logs or {}), "steps": steps}
        self.previous = {k: float(v) for k, v in self.previous.items()}
        self.calls += 1
        budget, seconds = self.stop
        if budget._elapsed() >= seconds:
            self.model.stop_training = True
        if self.calls % self.probe_every == 0 or not math.isfinite(
            row.get("loss", 0.0)
        ):
            row["probe"] = probe(self.model, self.probe_x)
        self.write(row)


def prior_gap(vae, x_test):
    """The KL per group on the posterior path, and how the draws there
    compare with ancestral draws."""
    rows, _ = group_draws(vae, x_test)
    noise = keras.random.normal((len(x_test),) + vae.latent_shape, seed=1)
    ancestral = vae._split_groups(vae.ancestral_latents(noise))
    out = {}
    for i, (qm, qlv, pm, plv, z) in enumerate(rows):
        a = ops.convert_to_numpy(ancestral[i])
        n = len(z)
        entry = {
            "kl": float(closed_kl(qm, qlv, pm, plv).mean()),
            "kl_per_dim": float(
                closed_kl(qm, qlv, pm, plv).mean() / qm[0].size
            ),
            "posterior_draw_ms": float((z**2).mean()),
            "ancestral_draw_ms": float((a**2).mean()),
            "posterior_draw_std_per_dim": float(z.reshape(n, -1).std(0).mean()),
            "ancestral_draw_std_per_dim": float(a.reshape(n, -1).std(0).mean()),
            "q_std_mean": float(np.exp(0.5 * qlv).mean()),
            "p_std_mean": float(np.exp(0.5 * plv).mean()),
        }
        if i == 0:
            flat = z.reshape(n, -1)
            entry["aggregate_mean_abs"] = float(np.abs(flat.mean(0)).mean())
            entry["aggregate_var_mean"] = float(flat.var(0).mean())
            entry["aggregate_var_range"] = [
                float(flat.var(0).min()),
                float(flat.var(0).max()),
            ]
        out[f"g{i}"] = entry
    return out


def per_group_samples(vae, temperatures, n=64, seed=0):
    """Ancestral samples with one temperature per group, top first."""
    noise = keras.random.normal((n,) + vae.latent_shape, seed=seed)
    noise = vae._split_groups(noise)
    noise = [g * t for g, t in zip(noise, temperatures)]
    z = vae.ancestral_latents(vae._flatten_groups(noise))
    return vae.decode(ops.convert_to_numpy(z))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument(
        "--schedule-minutes",
        type=float,
        default=None,
        help="The cosine schedule's length (default: --minutes), to stop "
        "a 30-minute recipe early at the same learning rates.",
    )
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--min-lr", type=float, default=1e-5)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-n", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--probe-every", type=int, default=8)
    parser.add_argument("--warmup-steps", type=int, default=0)
    parser.add_argument(
        "--builder-args",
        default='{"filters": [32, 64], "latent_channels": [[8, 8], [8]]}',
    )
    parser.add_argument("--log", required=True)
    parser.add_argument("--pictures", default=None)
    parser.add_argument("--model-output", default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(tmp, filter="data")
        x_train, x_test = load_cifar10(tmp)
    x_train = x_train[: args.train_n]
    keras.utils.set_random_seed(args.seed)
    vae = keras_vae.build_hierarchical_vae(
        (32, 32, 3),
        likelihood=likelihood(1),
        seed=args.seed,
        **json.loads(args.builder_args),
    )
    optimizer = {
        "adam": keras.optimizers.Adam,
        "adamax": keras.optimizers.Adamax,
    }
    vae.compile(optimizer=optimizer[args.optimizer](args.lr))
    if args.warmup_steps:
        vae.set_kl_warmup(args.warmup_steps)
    monitor = Monitor(args.log, x_train[:256], args.probe_every)
    monitor.write({"args": vars(args)})

    def evaluate():
        logs = vae.evaluate(
            x_test[:1000], batch_size=250, verbose=0, return_dict=True
        )
        return {k: round(float(v), 4) for k, v in logs.items()}

    schedule = (args.schedule_minutes or args.minutes) * 60
    budget = TimeBudget(
        schedule, args.minutes * 60 / 3, evaluate, args.lr, args.min_lr
    )
    monitor.stop = (budget, args.minutes * 60)
    try:
        vae.fit(
            x_train,
            batch_size=args.batch_size,
            epochs=1_000_000,
            callbacks=[budget, monitor],
            verbose=0,
        )
    except Exception as error:  # noqa: BLE001 - the log says what stopped it.
        monitor.write({"stopped": repr(error)[:2000]})
    monitor.write({"curve": budget.curve})
    if args.model_output:
        vae.save(args.model_output)
    monitor.write({"final": prior_gap(vae, x_test[:1000])})
    if args.pictures:
        import matplotlib.image

        from keras_vae.plotting import image_grid

        os.makedirs(args.pictures, exist_ok=True)
        above = [1.0] * (vae.num_groups - 1)
        presets = (
            above + [1.0],
            [0.8] * vae.num_groups,
            above + [0.5],
            above + [0.0],
            [0.8] * (vae.num_groups - 1) + [0.0],
            [1.0] + [0.0] * (vae.num_groups - 1),
        )
        for temps in presets:
            samples = per_group_samples(vae, temps)
            name = "_".join(f"{t:g}" for t in temps)
            matplotlib.image.imsave(
                f"{args.pictures}/samples_{name}.png",
                image_grid(samples / 255, 8),
            )
    monitor.file.close()


if __name__ == "__main__":
    main()
