"""`keras-vae train --window` and `keras-vae score` on a sensor log as it
comes: `;`-separated, a `datetime` column, two label columns."""

import csv
import json

import keras
import numpy as np
import pytest

from keras_vae.cli import main
from keras_vae.datasets import windows

WINDOW = 16
SENSORS = ["Accelerometer1RMS", "Current", "Pressure", "Temperature"]
LABELS = ["anomaly", "changepoint"]
FAST = ["--epochs", "4", "--latent-dim", "4", "--batch-size", "32"]


def sensor_values(steps, seed=0):
    """Four sensors in their own units: sines of several periods, scales and
    offsets, with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[:, None]
    wave = np.sin(t / np.array([5.0, 7.0, 5.0, 11.0]))
    noise = 0.05 * rng.standard_normal((steps, 4))
    scale = np.array([0.02, 3.0, 0.5, 4.0])
    return (wave + noise) * scale + np.array([0.2, 2.1, 0.05, 70.0])


def write_log(path, values, labels=None, blank=None):
    """A SKAB-style log: `datetime;sensors...;anomaly;changepoint`, one
    row a second; `blank=(row, column)` leaves one cell empty."""
    labels = np.zeros((len(values), 2), int) if labels is None else labels
    start = np.datetime64("2020-03-09T10:14:33")
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, delimiter=";")
        writer.writerow(["datetime", *SENSORS, *LABELS])
        for i, (row, label) in enumerate(zip(values, labels)):
            cells = [f"{v:.6f}" for v in row]
            if blank is not None and blank[0] == i:
                cells[blank[1]] = ""
            time = str(start + np.timedelta64(i, "s")).replace("T", " ")
            writer.writerow([time, *cells, *label])
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    directory = tmp_path_factory.mktemp("series")
    log = write_log(directory / "normal.csv", sensor_values(1200))
    out = directory / "run"
    code = main(
        [
            "train",
            "--data",
            str(log),
            "--window",
            str(WINDOW),
            "--exclude",
            ",".join(LABELS),
            *FAST,
            "--output-dir",
            str(out),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    with open(out / "model_metrics.json") as f:
        return directory, out, json.load(f)


def test_train_cuts_the_log_into_windows_split_in_time(trained):
    _, out, metrics = trained
    # 1200 steps: the first 1080 train, the last 120 validate.
    assert metrics["train_examples"] == 1080 - WINDOW + 1
    assert metrics["test_examples"] == 120 - WINDOW + 1
    assert metrics["window"] == WINDOW and metrics["stride"] == 1
    assert metrics["architecture"] == "conv"
    assert metrics["likelihood"] == "gaussian"
    assert metrics["input_units"].startswith("windows of time series")
    assert sorted(p.name for p in out.iterdir()) == [
        "model.keras",
        "model_metrics.json",
    ]
    vae = keras.saving.load_model(out / "model.keras")
    assert vae.data_shape == (WINDOW, len(SENSORS))
    # Standardized per channel inside the model: raw units go in.
    mean = keras.ops.convert_to_numpy(vae.preprocessing.mean).ravel()
    np.testing.assert_allclose(
        mean, sensor_values(1200)[:1080].mean(axis=0), rtol=1e-3, atol=1e-3
    )


def test_score_writes_one_finite_score_per_step(trained, tmp_path, capsys):
    directory, out, _ = trained
    values = sensor_values(900, seed=1)
    values[700, 1] += 30.0  # The current jumps by 10 amplitudes.
    log = write_log(tmp_path / "new.csv", values)
    reference = write_log(tmp_path / "reference.csv", sensor_values(600, 2))
    scores = tmp_path / "scores.csv"
    code = main(
        [
            "score",
            str(out / "model.keras"),
            "--data",
            str(log),
            "--exclude",
            ",".join(LABELS),
            "--reference",
            str(reference),
            "--quantile",
            "0.999",
            "--output",
            str(scores),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    with open(scores) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 900
    assert list(rows[0]) == ["time", "score_nats", "anomaly"]
    assert rows[0]["time"] == "2020-03-09T10:14:33"
    assert rows[899]["time"] == "2020-03-09T10:29:32"
    values = np.array([float(r["score_nats"]) for r in rows])
    assert np.all(np.isfinite(values))
    flagged = np.array([int(r["anomaly"]) for r in rows])
    # The jump is flagged from its own step, never before it.
    assert flagged[700] == 1 and flagged[699] == 0
    # Every window that holds it is flagged; few normal steps are (a short
    # training, K = 16: the 0.999 quantile of 600 steps is near their
    # maximum, not a 0.1 % false-alarm rate).
    assert flagged[700 : 700 + WINDOW].all()
    assert flagged[:700].mean() < 0.03
    assert "wrote" in capsys.readouterr().out


def test_a_folder_of_logs_is_a_set_of_series(trained, tmp_path):
    _, out, _ = trained
    folder = tmp_path / "logs"
    folder.mkdir()
    write_log(folder / "a.csv", sensor_values(100, 3))
    write_log(folder / "b.csv", sensor_values(60, 4))
    scores = tmp_path / "scores.csv"
    code = main(
        [
            "score",
            str(out / "model.keras"),
            "--data",
            str(folder),
            "--exclude",
            ",".join(LABELS),
            "--output",
            str(scores),
            "--verbose",
            "0",
        ]
    )
    assert code == 0
    with open(scores) as f:
        rows = list(csv.DictReader(f))
    assert [r["file"].endswith("a.csv") for r in rows] == [True] * 100 + [
        False
    ] * 60


def train_error(tmp_path, capsys, data, *arguments):
    out = tmp_path / "out"
    code = main(
        ["train", "--data", str(data), *arguments, *FAST]
        + ["--output-dir", str(out)]
    )
    assert code == 2
    assert not out.exists() or not any(out.iterdir())
    return capsys.readouterr().err


def test_a_label_column_left_in_is_refused(tmp_path, capsys):
    log = write_log(tmp_path / "log.csv", sensor_values(200))
    error = train_error(tmp_path, capsys, log, "--window", str(WINDOW))
    assert "Column 'anomaly'" in error and "--exclude anomaly" in error


def test_a_window_longer_than_the_series_is_refused(tmp_path, capsys):
    log = write_log(tmp_path / "log.csv", sensor_values(100))
    error = train_error(
        tmp_path,
        capsys,
        log,
        "--window",
        "64",
        "--exclude",
        "anomaly,changepoint",
    )
    assert "log.csv" in error and "100 steps" in error
    assert "--window 64" in error


def test_a_missing_value_needs_a_fill_rule(tmp_path, capsys):
    log = write_log(tmp_path / "log.csv", sensor_values(300), blank=(41, 2))
    arguments = ["--window", str(WINDOW), "--exclude", "anomaly,changepoint"]
    error = train_error(tmp_path, capsys, log, *arguments)
    assert "'Pressure'" in error and "line 43" in error
    out = tmp_path / "filled"
    code = main(
        ["train", "--data", str(log), *arguments, "--fill", "forward", *FAST]
        + ["--output-dir", str(out), "--verbose", "0"]
    )
    assert code == 0


def test_a_text_column_is_refused(tmp_path, capsys):
    log = tmp_path / "log.csv"
    with open(log, "w") as f:
        f.write("datetime;value;status\n")
        for i in range(100):
            f.write(f"2020-01-01 00:00:{i % 60:02d};{i};{'ok' if i else 'x'}\n")
    error = train_error(tmp_path, capsys, log, "--window", "8")
    assert "'status'" in error and "text" in error


def test_files_with_other_columns_in_one_folder_are_refused(tmp_path, capsys):
    folder = tmp_path / "logs"
    folder.mkdir()
    write_log(folder / "a.csv", sensor_values(100))
    with open(folder / "b.csv", "w") as f:
        f.write("datetime;Current;anomaly;changepoint\n")
        f.write("2020-01-01 00:00:00;1.0;0;0\n")
    error = train_error(
        tmp_path,
        capsys,
        folder,
        "--window",
        "8",
        "--exclude",
        "anomaly,changepoint",
    )
    assert "a.csv" in error and "b.csv" in error and "Pressure" in error


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--window", "8"], "--window without --data"),
        (["--architecture", "recurrent"], "recurrent without --window"),
    ],
)
def test_series_options_without_series(tmp_path, capsys, arguments, message):
    code = main(
        ["train", "--dataset", "mnist-sample", *arguments, *FAST]
        + ["--output-dir", str(tmp_path / "out")]
    )
    assert code == 2
    assert message in capsys.readouterr().err


def test_evaluate_takes_every_validation_window(trained, tmp_path):
    directory, out, metrics = trained
    results = tmp_path / "results.json"
    code = main(
        [
            "evaluate",
            str(out / "model.keras"),
            "--data",
            str(directory / "normal.csv"),
            "--window",
            str(WINDOW),
            "--exclude",
            ",".join(LABELS),
            "--num-samples",
            "10",
            "--output",
            str(results),
        ]
    )
    assert code == 0
    with open(results) as f:
        evaluated = json.load(f)
    # The last 120 steps of the log, as training validated on them.
    assert evaluated["examples"] == metrics["test_examples"] == 120 - WINDOW + 1
    vae = keras.saving.load_model(out / "model.keras")
    x = windows(sensor_values(1200)[1080:].astype("float32"), WINDOW)
    loss = vae.evaluate(x, batch_size=256, verbose=0, return_dict=True)
    np.testing.assert_allclose(
        evaluated["negative_elbo"], loss["loss"], rtol=1e-3
    )
    assert evaluated["nll"] <= evaluated["negative_elbo"] + 1.0


def test_plot_refuses_a_model_of_windows(trained, tmp_path, capsys):
    directory, out, _ = trained
    code = main(
        [
            "plot",
            str(out / "model.keras"),
            "--data",
            str(directory / "normal.csv"),
            "--window",
            str(WINDOW),
            "--exclude",
            ",".join(LABELS),
            "--output-dir",
            str(tmp_path / "plots"),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err
    assert "`plot` draws images" in error
    assert f"models windows of shape ({WINDOW}, 4)" in error
    assert not (tmp_path / "plots").exists()
