"""The priors side by side: test NLL on dynamically binarized MNIST of the
same MLP VAE with `N(0, I)`, a learned mixture of Gaussians and a
VampPrior, each given the same training minutes.

Runs the recipe of `benchmarks.likelihood.mnist_nll`
(docs/benchmarks/mnist_nll.md: 784-512-512-50, tanh, Bernoulli decoder, Adam
with cosine decay, batch 100, the training set binarized afresh every epoch)
once per prior, all at the
same time, each in its own process with one TensorFlow thread: the
processes share the machine's cores equally for the whole run, so noise
from the rest of the machine falls on all of them alike, and each gets the
same wall-clock training minutes (evaluation excluded). A VampPrior encodes
its pseudo-inputs at every step, so in the same minutes it trains fewer
epochs: the comparison is at equal time, not equal epochs.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.likelihood.priors
Writes docs/benchmarks/mnist_priors.md: the final test NLL of each (K = 5000,
all 10,000 test images), its curve against training minutes, and the numbers
pythae and Tomczak and Welling published for the same priors, with their
setups.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

from benchmarks.machine import command_flags
from benchmarks.machine import machine
from benchmarks.machine import module_command
from benchmarks.machine import save_report
from benchmarks.machine import worker_env

#: What each prior is in the report, and its default components.
LABELS = {
    "standard": "N(0, I)",
    "mog": "MixtureOfGaussians({})",
    "vamp": "VampPrior({})",
}
DEFAULT_COMPONENTS = {"standard": None, "mog": 10, "vamp": 500}


class Run:
    """One run of the comparison, from its spec `PRIOR[:K][:warmup=N]`:
    the prior (`standard`, `mog`, `vamp`), its components or
    pseudo-inputs `K`, and a KL warm-up over `N` epochs (0 by default)."""

    def __init__(self, spec):
        self.spec = spec
        prior, *options = spec.split(":")
        if prior not in LABELS:
            raise argparse.ArgumentTypeError(
                f"a run is PRIOR[:K][:warmup=N] with PRIOR one of "
                f"{sorted(LABELS)}. Received: {spec!r}"
            )
        self.prior = prior
        self.components = DEFAULT_COMPONENTS[prior]
        self.warmup_epochs = 0
        for option in options:
            if option.isdigit() and prior != "standard":
                self.components = int(option)
            elif option.startswith("warmup=") and option[7:].isdigit():
                self.warmup_epochs = int(option[7:])
            else:
                raise argparse.ArgumentTypeError(
                    f"a run is PRIOR[:K][:warmup=N]. Received: {spec!r}"
                )
        self.name = spec.replace(":", "_").replace("=", "")

    @property
    def label(self):
        label = LABELS[self.prior].format(self.components)
        if self.warmup_epochs:
            label += f", KL warm-up over {self.warmup_epochs} epochs"
        return label

    def __str__(self):
        return self.spec


#: Published test NLLs (nats) on binarized MNIST, beside ours: (source,
#: prior, NLL, setup). pythae's reproductions are in its
#: examples/scripts/reproducibility/README.md (clementchadebec/benchmark_VAE);
#: both are on the statically binarized MNIST (Larochelle's .amat files),
#: trained to convergence, not on the dynamically binarized set in minutes.
PUBLISHED = [
    (
        "pythae (reproducing Rezende and Mohamed, 2015: 89.9)",
        "N(0, I) (VAE)",
        "89.78",
        "static MNIST; 784-400-40 MLP, ReLU; 500 epochs, lr 1e-4; K = 200",
    ),
    (
        "pythae (reproducing Tomczak and Welling, 2018: 85.57)",
        "VampPrior, K = 500 (VAMP)",
        "85.79",
        "static MNIST; two gated dense layers of 300, latent 40; "
        "2000 epochs, RMSprop 1e-4, KL warm-up over 100 epochs; K = 5000",
    ),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.likelihood.priors",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--runs",
        nargs="+",
        type=Run,
        default=[Run(name) for name in LABELS],
        help="The runs, side by side: PRIOR[:K][:warmup=N] each, e.g. "
        "standard mog:10 vamp:500:warmup=5. Default: standard mog vamp.",
    )
    parser.add_argument("--minutes", type=float, default=50.0)
    parser.add_argument("--eval-every", type=float, default=5.0)
    parser.add_argument("--curve-k", type=int, default=500)
    parser.add_argument("--curve-n", type=int, default=1000)
    parser.add_argument("--final-k", type=int, default=5000)
    parser.add_argument("--final-n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="TensorFlow threads of each run. Default: 1.",
    )
    parser.add_argument(
        "--work-dir",
        default="runs/mnist_priors",
        help="The runs' logs, reports, results and models.",
    )
    parser.add_argument("--output", default="docs/benchmarks/mnist_priors.md")
    return parser.parse_args(argv)


def run_command(args, run):
    """The `mnist_nll` command of one run."""
    work = os.path.join(args.work_dir, run.name)
    flags = [
        f"--minutes={args.minutes:g}",
        f"--eval-every={args.eval_every:g}",
        "--hidden-units",
        "512",
        "512",
        "--latent-dim=50",
        "--batch-size=100",
        "--lr=0.001",
        "--min-lr=1e-05",
        "--activation=tanh",
        f"--curve-k={args.curve_k}",
        f"--curve-n={args.curve_n}",
        f"--final-k={args.final_k}",
        f"--final-n={args.final_n}",
        f"--seed={args.seed}",
        f"--prior={run.prior}",
        f"--warmup-epochs={run.warmup_epochs}",
        f"--threads={args.threads}",
        f"--output={work}/report.md",
        f"--model-output={work}/model.keras",
        f"--result={work}/result.json",
        f"--pictures=docs/images/mnist_priors/{run.name}",
    ]
    if run.components:
        flags.append(f"--prior-components={run.components}")
    return module_command("benchmarks.likelihood.mnist_nll", flags)


def main():
    args = parse_args()
    processes = {}
    for run in args.runs:
        work = os.path.join(args.work_dir, run.name)
        os.makedirs(work, exist_ok=True)
        log = open(os.path.join(work, "log.txt"), "w")
        processes[run.name] = (
            subprocess.Popen(
                run_command(args, run),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=worker_env(),
            ),
            log,
        )
        print(f"started {run}: {work}/log.txt", flush=True)
    start = time.perf_counter()
    failed = []
    for name, (process, log) in processes.items():
        code = process.wait()
        log.close()
        print(
            f"{name} finished (rc={code}) after "
            f"{(time.perf_counter() - start) / 60:.1f} minutes",
            flush=True,
        )
        if code:
            failed.append(name)
    if failed:
        sys.exit(f"runs failed: {failed}; see {args.work_dir}/*/log.txt")
    results = {}
    for run in args.runs:
        path = os.path.join(args.work_dir, run.name, "result.json")
        with open(path) as f:
            results[run.label] = json.load(f)
    write_report(args, results)


def write_report(args, results):
    rows = [
        "| prior | test NLL (K = {k}) | test -ELBO | reconstruction | KL | "
        "epochs | steps |".format(k=args.final_k),
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, result in results.items():
        last = result["curve"][-1]
        rows.append(
            f"| {label} | {result['nll']:.2f} ± "
            f"{result['stderr']:.2f} | {result['negative_elbo']:.2f} | "
            f"{result['reconstruction_loss']:.2f} | {result['kl_loss']:.2f} "
            f"| {last['epoch']} | {last['steps']:,} |"
        )
    curve_header = "| training minutes | " + " | ".join(
        f"{label} NLL (epochs)" for label in results
    )
    curves = [
        curve_header + " |",
        "| --- |" + " --- |" * len(results),
    ]
    for i in range(max(len(r["curve"]) for r in results.values())):
        cells = []
        minutes = None
        for result in results.values():
            if i < len(result["curve"]):
                row = result["curve"][i]
                minutes = minutes or row["minutes"]
                cells.append(f"{row['nll']:.2f} ({row['epoch']})")
            else:
                cells.append("")
        curves.append(f"| {minutes:.1f} | " + " | ".join(cells) + " |")
    published = [
        "| source | prior | test NLL | setup |",
        "| --- | --- | --- | --- |",
    ] + [
        f"| {source} | {prior} | {nll} | {setup} |"
        for source, prior, nll, setup in PUBLISHED
    ]
    lines = [
        "# Priors side by side: test NLL on dynamically binarized MNIST",
        "",
        f"Measured {datetime.date.today()} on {machine()}, Python "
        f"{platform.python_version()}, TensorFlow CPU wheels.",
        "",
        "Command:",
        "",
        "```bash",
        "KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python "
        "-m benchmarks.likelihood.priors " + command_flags(args),
        "```",
        "",
        "The recipe of [mnist_nll.md](mnist_nll.md) (MLP VAE "
        "784-512-512-50, tanh, Bernoulli decoder, Adam 0.001 with cosine "
        f"decay to 1e-05 over {args.minutes:g} training minutes, batch 100, "
        "the training set binarized afresh every epoch, the test set "
        "binarized once with seed 1234), one run per prior, all at once, "
        f"each in its own process with {args.threads} TensorFlow "
        "thread(s): the same wall-clock training minutes on an equal share "
        "of the cores (evaluation excluded).",
        "",
        "## Final: test NLL of each prior",
        "",
        *rows,
        "",
        f"## NLL against training minutes (K = {args.curve_k}, first "
        f"{args.curve_n:,} test images)",
        "",
        *curves,
        "",
        "## Published numbers",
        "",
        *published,
        "",
    ]
    save_report("\n".join(lines) + "\n", args.output)


if __name__ == "__main__":
    main()
