"""`load_csv` on scikit-learn's bundled tables written to CSV, compared
exactly with the arrays, and on every kind of bad table."""

import csv
import re

import numpy as np
import pytest

from keras_vae.datasets import load_csv


@pytest.fixture(params=["breast_cancer", "wine", "diabetes"])
def table(request):
    """`(data, feature_names)` of a table bundled with scikit-learn."""
    datasets = pytest.importorskip("sklearn.datasets")
    bunch = getattr(datasets, f"load_{request.param}")()
    return bunch.data, list(bunch.feature_names)


def write_csv(path, rows, header=None):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def test_sklearn_tables_with_and_without_header(tmp_path, table):
    data, names = table
    expected = data.astype("float32")
    # The CSV holds each float64 exactly (shortest round-trip repr).
    with_header = write_csv(tmp_path / "a.csv", data.tolist(), names)
    x, found = load_csv(with_header)
    assert x.dtype == np.float32 and x.shape == data.shape
    np.testing.assert_array_equal(x, expected)
    assert found == names
    x, found = load_csv(write_csv(tmp_path / "b.csv", data.tolist()))
    np.testing.assert_array_equal(x, expected)
    assert found == [str(i) for i in range(data.shape[1])]
    # Chosen columns, by name or index, in the order asked.
    x, found = load_csv(with_header, columns=[names[-1], names[0]])
    np.testing.assert_array_equal(x, expected[:, [-1, 0]])
    assert found == [names[-1], names[0]]
    x, found = load_csv(with_header, columns=[2, names[1]])
    np.testing.assert_array_equal(x, expected[:, [2, 1]])
    x, found = load_csv(with_header, columns=3)
    np.testing.assert_array_equal(x, expected[:, [3]])
    assert found == [names[3]]


def test_text_column_is_named_with_its_line(tmp_path):
    """The iris layout: four measurements and a species name."""
    rows = [[5.1, 3.5, 1.4, 0.2, "setosa"], [7.0, 3.2, 4.7, 1.4, "versicolor"]]
    header = ["sepal length", "sepal width", "petal length", "petal width"]
    path = write_csv(tmp_path / "iris.csv", rows, header + ["species"])
    with pytest.raises(ValueError) as error:
        load_csv(path)
    assert str(error.value) == (
        f"Column 'species' (index 4) of {str(path)!r} holds text at line 2: "
        "'setosa'. Only numeric columns can be loaded: choose them with "
        f"`columns=`, e.g. columns={header}."
    )
    x, names = load_csv(path, columns=header)
    np.testing.assert_array_equal(x, np.array(rows)[:, :4].astype("float32"))
    # Without a header, a text column is not taken for one, and the
    # suggestion is by index.
    path = write_csv(tmp_path / "no_header.csv", rows)
    with pytest.raises(ValueError) as error:
        load_csv(path)
    assert str(error.value) == (
        f"Column '4' (index 4) of {str(path)!r} holds text at line 1: "
        "'setosa'. Only numeric columns can be loaded: choose them with "
        "`columns=`, e.g. columns=[0, 1, 2, 3]."
    )
    x, names = load_csv(path, columns=[0, 1, 2, 3])
    assert x.shape == (2, 4) and names == ["0", "1", "2", "3"]


@pytest.mark.parametrize(
    "cell, problem",
    [
        ("", "a missing value"),
        ("NA", "a missing value"),
        ("nan", "a missing value"),
        ("?", "a missing value"),
        ("inf", "an infinite value"),
        ("-Infinity", "an infinite value"),
        ("1,5", "text"),
        ("0x1F", "text"),
    ],
)
def test_bad_cells(tmp_path, cell, problem):
    rows = [["1", "2", "3"], ["4", "5", "6"], ["7", cell, "9"], ["1", "", "2"]]
    path = write_csv(tmp_path / "t.csv", rows, ["a", "b", "c"])
    with pytest.raises(ValueError) as error:
        load_csv(path)
    where = f"Column 'b' (index 1) of {str(path)!r} holds {problem} at line 4:"
    assert where in str(error.value)
    assert repr(cell) in str(error.value)
    # Only the chosen columns are read.
    x, _ = load_csv(path, columns=["a", "c"])
    np.testing.assert_array_equal(x[:, 0], [1, 4, 7, 1])


def test_float32_overflow(tmp_path):
    path = write_csv(tmp_path / "big.csv", [["1", "2"], ["3", "1e39"]])
    beyond = r"'1' \(index 1\).*float32's range.*line 2: '1e39'"
    with pytest.raises(ValueError, match=beyond):
        load_csv(path)


def test_ragged_rows(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6,\n")
    with pytest.raises(
        ValueError, match=r"line 3 has 4 fields, line 1 has 3.*trailing comma"
    ):
        load_csv(path)
    path.write_text("a,b,c\n1,2,3\n\n4,5\n")
    with pytest.raises(ValueError, match="line 4 has 2 fields"):
        load_csv(path)


def test_header_detection(tmp_path):
    path = tmp_path / "t.csv"
    # Numbers and blanks: data (the blank is then a missing value).
    path.write_text("1,,3\n4,5,6\n")
    with pytest.raises(ValueError, match="missing value at line 1"):
        load_csv(path)
    # Names that are numbers: data unless header=True.
    path.write_text("10,20\n1,2\n")
    x, names = load_csv(path)
    np.testing.assert_array_equal(x, [[10, 20], [1, 2]])
    x, names = load_csv(path, header=True)
    np.testing.assert_array_equal(x, [[1, 2]])
    assert names == ["10", "20"]
    # A header declared absent is data, and its text an error.
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="'0' \\(index 0\\).*text at line 1"):
        load_csv(path, header=False)


def test_csv_dialect_details(tmp_path):
    """A byte-order mark, quoted fields, spaces, CRLF and blank lines."""
    path = tmp_path / "t.csv"
    path.write_bytes(
        b'\xef\xbb\xbf"mean, radius", b \r\n\r\n" 1.5 ", 2\r\n3,-4e-2\r\n\r\n'
    )
    x, names = load_csv(path)
    assert names == ["mean, radius", "b"]
    np.testing.assert_array_equal(x, np.float32([[1.5, 2], [3, -0.04]]))


@pytest.mark.parametrize(
    "columns, match",
    [
        (["nope"], "has no column named 'nope'; its columns are \\['a', 'b'"),
        ([2], "an index from 0 to 1 .* has 2 columns"),
        ([-1], "Received: columns=\\[-1\\]"),
        ([0, "a"], "a column is chosen twice"),
        ([], "Received: columns=\\[\\]"),
        ([True], "Received: columns=\\[True\\]"),
        ([1.0], "Received: columns=\\[1.0\\]"),
    ],
)
def test_bad_columns(tmp_path, columns, match):
    path = write_csv(tmp_path / "t.csv", [[1, 2]], ["a", "b"])
    with pytest.raises(ValueError, match=match):
        load_csv(path, columns=columns)


def test_bad_files_and_arguments(tmp_path):
    path = tmp_path / "t.csv"
    with pytest.raises(FileNotFoundError, match="No CSV file"):
        load_csv(path)
    path.write_text("")
    with pytest.raises(ValueError, match="is empty"):
        load_csv(path)
    path.write_text("\n\n")
    with pytest.raises(ValueError, match="is empty"):
        load_csv(path)
    path.write_text("a,b\n")
    with pytest.raises(ValueError, match=r"header row and no data: \['a', 'b'"):
        load_csv(path)
    path.write_text("a,a\n1,2\n")
    with pytest.raises(ValueError, match="has several column named 'a'"):
        load_csv(path, columns=["a"])
    np.testing.assert_array_equal(load_csv(path)[0], [[1, 2]])
    with pytest.raises(ValueError, match="no header row, so columns are"):
        load_csv(write_csv(tmp_path / "n.csv", [[1, 2]]), columns=["a"])
    path.write_bytes(b"a,b\n1,\xff\n")
    with pytest.raises(ValueError, match="as a UTF-8 CSV file"):
        load_csv(path)
    with pytest.raises(ValueError, match=re.escape("Received: header='yes'")):
        load_csv(path, header="yes")
