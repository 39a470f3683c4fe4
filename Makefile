# The two commands of the README: `make train` (the main job) and `make test`.
# Both create .venv and install the package with its test tools first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
export TF_CPP_MIN_LOG_LEVEL ?= 2

.PHONY: train test install lint docs

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# Trains the 784-400-20 VAE on the MNIST sample shipped with the package,
# writes saved_models/mnist_sample_vae.{keras,_metrics.json,_samples.png},
# then exports the next TF Serving version saved_models/mnist_vae/N and the
# TFLite decoder saved_models/mnist_decoder.tflite.
train: install
	$(BIN)/keras-vae train --dataset mnist-sample --epochs 20 \
		--output-dir saved_models --overwrite
	$(BIN)/keras-vae export saved_models/mnist_sample_vae.keras \
		--saved-model saved_models/mnist_vae \
		--tflite saved_models/mnist_decoder.tflite --overwrite

# One pytest worker per core (pytest-xdist), each test file on one worker so
# its module fixtures are built once; PYTEST_ARGS="-n 0" runs in one process.
test: install
	$(BIN)/python -m pytest -n auto --dist loadfile $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# The documentation site (docs/, mkdocs.yml) into site/: guides, the API
# reference generated from the docstrings, and the benchmark reports.
# --strict: a broken link or a missing reference fails the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site
