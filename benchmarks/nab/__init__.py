"""NAB, the Numenta Anomaly Benchmark, scored by NAB's own scorer.

- `harness`: reads NAB's 58 series from ../shared/data/nab.tar.gz, runs a
  streaming detector (`detect(timestamps, values, probation)` -> one score
  in [0, 1] per row) on each, writes NAB's results files and scores them
  with NAB's `run.py` in its own virtual environment; prints the three
  profiles' scores beside NAB's scoreboard, with point-wise precision,
  recall and F1.
- `scoring`: NAB's scorer in NumPy (the same numbers in 0.2 s), to tune.
- `anomaly_likelihood`: Numenta's anomaly likelihood (the post-processing
  of NAB's HTM detectors) in NumPy.
- `baselines`: NumPy detectors that check the harness against the
  scoreboard (windowed Gaussian, random) and measure what post-processing
  gives a raw score (prediction error, anomaly likelihood, ...).
- `vae_detector`: the package's sequence VAE (`build_sequence_vae`, conv)
  fitted per file on its probationary rows, its window or newest-step
  negative log-likelihood through the same post-processing: 66.5 / 63.2.

    KERAS_VAE_DATA_DIR=../shared/data .venv/bin/python \\
        -m benchmarks.nab.harness --detectors gaussian
"""
