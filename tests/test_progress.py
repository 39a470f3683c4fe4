"""Long work shows progress: the progress bar of `log_likelihood`."""

import re

import pytest

from keras_vae.evaluation import log_likelihood

# Keras's progress bar colours its counts with ANSI escapes.
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def counts(output):
    """The `done/target` pairs a progress bar printed, in order."""
    text = ANSI.sub("", output)
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+)/(\d+)", text)]


def test_progress_bar_counts_the_examples(tiny_vae, vectors, capsys):
    # Batches of 3: the bar may show 3, 6 and 9 (it redraws at most every
    # 0.05 s) and always ends at exactly 10.
    log_likelihood(tiny_vae, vectors[:10], num_samples=4, batch_size=3, seed=0)
    shown = counts(capsys.readouterr().out)
    assert shown[-1] == (10, 10)
    assert {done for done, _ in shown} <= {3, 6, 9, 10}
    assert {target for _, target in shown} == {10}
    assert [done for done, _ in shown] == sorted(done for done, _ in shown)


def test_verbose_2_prints_one_line_and_0_nothing(tiny_vae, vectors, capsys):
    log_likelihood(tiny_vae, vectors[:10], num_samples=4, seed=0, verbose=2)
    output = capsys.readouterr().out
    assert re.fullmatch(r"10/10 - \d+s - \d+(s|ms|us)/example\n", output), (
        output
    )
    log_likelihood(tiny_vae, vectors[:10], num_samples=4, seed=0, verbose=0)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("verbose", [3, -1, "yes", True, None])
def test_bad_verbose_raises(tiny_vae, vectors, verbose):
    with pytest.raises(ValueError, match=f"Received: verbose={verbose!r}"):
        log_likelihood(tiny_vae, vectors, num_samples=2, verbose=verbose)
