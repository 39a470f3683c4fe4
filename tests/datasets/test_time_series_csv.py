"""`load_csv` on time series logs (a `;`-separated sensor log with its
labels, tab-separated files, NAB's `timestamp,value` files) and
`load_csv_folder` on a folder of them: the values, the time index and
every error, which names the file, the column and the line."""

import os
import re
import tarfile

import numpy as np
import pytest
from shared_data import shared_file

from keras_vae.datasets import load_csv
from keras_vae.datasets import load_csv_folder
from keras_vae.datasets import windows

# A sensor log as SKAB writes them (github.com/waico/SKAB): `;` between
# fields, `.` decimals, a `datetime` column and two label columns.
SENSORS = ["Accelerometer1RMS", "Accelerometer2RMS", "Current", "Pressure"]
SKAB_LOG = (
    "datetime;Accelerometer1RMS;Accelerometer2RMS;Current;Pressure;"
    "anomaly;changepoint\n"
    "2020-02-08 13:30:47;0.202394;0.275154;2.16975;0.382638;0.0;0.0\n"
    "2020-02-08 13:30:48;0.203153;0.277857;2.07999;-0.273216;0.0;0.0\n"
    "2020-02-08 13:30:50;0.202054;0.27579;2.52577;0.054711;1.0;1.0\n"
)
SKAB_VALUES = [
    [0.202394, 0.275154, 2.16975, 0.382638],
    [0.203153, 0.277857, 2.07999, -0.273216],
    [0.202054, 0.27579, 2.52577, 0.054711],
]
SKAB_TIMES = np.array(
    ["2020-02-08T13:30:47", "2020-02-08T13:30:48", "2020-02-08T13:30:50"],
    dtype="datetime64[us]",
)


def write(path, text):
    path.write_text(text)
    return path


def test_semicolon_sensor_log_with_labels_left_out(tmp_path):
    path = write(tmp_path / "0.csv", SKAB_LOG)
    x, names, index = load_csv(
        path, exclude=["anomaly", "changepoint"], return_index=True
    )
    assert names == SENSORS
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, np.float32(SKAB_VALUES))
    assert index.dtype == np.dtype("datetime64[us]")
    np.testing.assert_array_equal(index, SKAB_TIMES)
    # The two-tuple stays the default. Labels are numbers like any other
    # column: nothing tells them apart, so they load unless left out.
    x, names = load_csv(path)
    assert names == SENSORS + ["anomaly", "changepoint"]
    np.testing.assert_array_equal(x[:, 4], [0, 0, 1])
    # The time column can be named, by name or index, or loaded as none.
    for time_column in ("datetime", 0):
        _, _, found = load_csv(
            path, time_column=time_column, columns=SENSORS, return_index=True
        )
        np.testing.assert_array_equal(found, SKAB_TIMES)
    x, names, index = load_csv(path, columns=SENSORS[:2], return_index=True)
    assert names == SENSORS[:2] and x.shape == (3, 2)
    np.testing.assert_array_equal(index, SKAB_TIMES)


def test_tab_separated_and_iso_t_times(tmp_path):
    path = write(
        tmp_path / "t.tsv",
        "time\tspeed\tload, kW\n"
        "2014-04-01T00:00:00\t1.5\t20\n"
        "2014-04-01T00:05:00\t-2e-3\t21\n",
    )
    x, names, index = load_csv(path, return_index=True)
    assert names == ["speed", "load, kW"]
    np.testing.assert_array_equal(x, np.float32([[1.5, 20], [-2e-3, 21]]))
    np.testing.assert_array_equal(
        index,
        np.array(["2014-04-01T00:00", "2014-04-01T00:05"], "datetime64[us]"),
    )


def test_delimiter_detection(tmp_path):
    path = tmp_path / "t.csv"
    # A `;` inside a quoted field, a `,` inside another.
    write(path, 'a,"b;c"\n1,2\n3,4\n')
    assert load_csv(path)[1] == ["a", "b;c"]
    write(path, 'a;"b,c"\n1;2\n3;4\n')
    assert load_csv(path)[1] == ["a", "b,c"]
    # A comma and a tab between fields: the comma, which splits every line.
    write(path, "a,\tb\n1,\t2\n")
    x, names = load_csv(path)
    assert names == ["a", "b"]
    np.testing.assert_array_equal(x, [[1, 2]])
    # One column: nothing to split.
    write(path, "value\n1.5\n2.5\n")
    np.testing.assert_array_equal(load_csv(path)[0], [[1.5], [2.5]])
    # A `;` file with a ragged row is read with `;` and says so.
    write(path, "a;b;c\n1;2;3\n4;5\n")
    with pytest.raises(ValueError, match="line 3 has 2 fields, line 1 has 3"):
        load_csv(path)
    # Given, any one character.
    write(path, "a|b\n1|2\n")
    x, names = load_csv(path, delimiter="|")
    assert names == ["a", "b"]
    with pytest.raises(ValueError, match=re.escape("Received: delimiter=';;'")):
        load_csv(path, delimiter=";;")


def test_time_column_inference(tmp_path):
    path = tmp_path / "t.csv"
    # Without a header: the names are indices, and the time column's
    # index is left out of them.
    write(path, "5,2020-01-01,1\n6,2020-01-02,2\n")
    x, names, index = load_csv(path, return_index=True)
    assert names == ["0", "2"]
    np.testing.assert_array_equal(x, [[5, 1], [6, 2]])
    np.testing.assert_array_equal(
        index, np.array(["2020-01-01", "2020-01-02"], "datetime64[us]")
    )
    # A UTC offset or `Z` is converted to UTC; fractions of a second kept.
    write(
        path,
        "t,v\n2020-01-01T00:00:00Z,1\n2020-01-01T01:00:00+01:00,2\n"
        "2020-01-01 00:00:01.250,3\n",
    )
    _, _, index = load_csv(path, return_index=True)
    np.testing.assert_array_equal(
        index,
        np.array(
            ["2020-01-01T00:00", "2020-01-01T00:00", "2020-01-01T00:00:01.25"],
            "datetime64[us]",
        ),
    )
    # Numbers (even ones like 2020 or 20200101) are never dates.
    write(path, "year,v\n2020,1\n2021,2\n")
    x, names, index = load_csv(path, return_index=True)
    assert names == ["year", "v"] and index is None
    # With `columns` and no index asked for, no column is looked for.
    write(path, "start,end,v\n2020-01-01,2020-01-02,1\n")
    x, names = load_csv(path, columns=["v"])
    assert names == ["v"]
    x, names, index = load_csv(path, exclude=["end"], return_index=True)
    assert names == ["v"] and index[0] == np.datetime64("2020-01-01")


@pytest.mark.parametrize(
    "text, options, match",
    [
        (
            "start,end,v\n2020-01-01,2020-01-02,1\n",
            {},
            "Several columns of .* hold dates: \\['start', 'end'\\]. Name the "
            "time column with `time_column=`.*Received: time_column='infer'",
        ),
        (
            "t,v\n2020-01-01,1\n2020-13-01,2\n",
            {},
            "Column 't' \\(index 0\\) of .* is the time column, and line 3 "
            "holds '2020-13-01' there",
        ),
        (
            "t,v\n2020-01-01,1\n,2\n",
            {"fill": "forward"},
            "Column 't' .* line 3 holds '' there.*never filled",
        ),
        (
            "t,v\n2020-01-01,1\n",
            {"time_column": "when"},
            "has no column named 'when'; its columns are \\['t', 'v'\\]. "
            "Received: time_column='when'",
        ),
        (
            "t,v\n2020-01-01,1\n",
            {"time_column": 2},
            "`time_column`: each column is a name or an index from 0 to 1",
        ),
        (
            "t,v\n2020-01-01,1\n",
            {"time_column": None},
            "Column 't' \\(index 0\\) of .* holds text at line 2: '2020-01-01'",
        ),
        (
            "t,v,w\n2020-01-01,1,2\n",
            {"time_column": "t", "columns": ["t", "v"]},
            "The time column 't' of .* cannot also be in `columns`",
        ),
        (
            "t,v,w\n2020-01-01,1,2\n",
            {"time_column": "t", "exclude": ["t"]},
            "The time column 't' of .* cannot also be in `exclude`",
        ),
    ],
)
def test_bad_time_columns(tmp_path, text, options, match):
    path = write(tmp_path / "t.csv", text)
    with pytest.raises(ValueError, match=match) as error:
        load_csv(path, **options)
    assert repr(str(path)) in str(error.value)


def test_fill_forward(tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n1,10\n,11\nNA,\n4,nan\n\n5,14\n")
    with pytest.raises(
        ValueError,
        match="Column 'a' \\(index 0\\) of .* holds a missing value at line "
        "3: ''. .*pass fill=\"forward\"",
    ):
        load_csv(path)
    x, names = load_csv(path, fill="forward")
    np.testing.assert_array_equal(
        x, [[1, 10], [1, 11], [1, 11], [4, 11], [5, 14]]
    )
    # Not in the first data row: there is nothing above it.
    write(path, "a,b\n1,\n2,3\n")
    with pytest.raises(
        ValueError,
        match="Column 'b' \\(index 1\\) .* missing value at line 2, its "
        "first data row: ''. There is no row above",
    ):
        load_csv(path, fill="forward")
    # Text and infinite values are never filled.
    write(path, "a,b\n1,2\nx,3\n")
    with pytest.raises(ValueError, match="holds text at line 3: 'x'"):
        load_csv(path, fill="forward")
    write(path, "a,b\n1,2\ninf,3\n")
    with pytest.raises(ValueError, match="an infinite value at line 3"):
        load_csv(path, fill="forward")
    with pytest.raises(ValueError, match="Received: fill='backward'"):
        load_csv(path, fill="backward")
    with pytest.raises(ValueError, match="Received: time_column=1.5"):
        load_csv(path, time_column=1.5)


def test_exclude(tmp_path):
    path = write(tmp_path / "t.csv", "a,b,label\n1,2,0\n3,4,1\n")
    x, names = load_csv(path, exclude=["label"])
    assert names == ["a", "b"]
    np.testing.assert_array_equal(x, [[1, 2], [3, 4]])
    x, names = load_csv(path, exclude="label")
    assert names == ["a", "b"]
    with pytest.raises(
        ValueError,
        match="has no column named 'anomaly'; its columns are \\['a', 'b', "
        "'label'\\]. Received: exclude=\\['anomaly'\\]",
    ):
        load_csv(path, exclude=["anomaly"])
    with pytest.raises(ValueError, match="Pass either `columns`.*not both"):
        load_csv(path, columns=["a"], exclude=["label"])
    with pytest.raises(ValueError, match="No column of .* is left to load"):
        load_csv(path, exclude=["a", "b", "label"])
    write(path, "t,a\n2020-01-01,1\n")
    with pytest.raises(
        ValueError,
        match="left to load: its columns are \\['t', 'a'\\], 't' time. "
        "Received: exclude=\\['a'\\]",
    ):
        load_csv(path, exclude=["a"])
    write(path, "a,b,label\n1,2,0\n3,4,1\n")
    # A text column left in: the advice is in terms of `exclude`, and
    # leaves out the time column, but not a date column taken for text.
    write(path, "t,a,note,label,d\n2020-01-01,1,ok,0,2020-01-01\n")
    with pytest.raises(
        ValueError,
        match="'note' \\(index 2\\) .* holds text at line 2: 'ok'. .*"
        "leave the others out with `exclude=`, e.g. "
        "exclude=\\['label', 'd', 'note'\\]",
    ):
        load_csv(path, exclude=["label", "d"])
    with pytest.raises(
        ValueError,
        match="'t' \\(index 0\\) .* holds text at line 2: '2020-01-01'. .*"
        "exclude=\\['label', 't', 'note', 'd'\\]",
    ):
        load_csv(path, exclude=["label"], time_column=None)


NAB_FILE = "nab/data/artificialNoAnomaly/art_daily_small_noise.csv"


@pytest.mark.skipif(
    shared_file("nab.tar.gz") is None, reason="no nab.tar.gz in ../shared/data"
)
def test_a_nab_file(tmp_path):
    """NAB's `timestamp,value` files: the time column is found."""
    with tarfile.open(shared_file("nab.tar.gz")) as archive:
        text = archive.extractfile(NAB_FILE).read().decode()
    path = write(tmp_path / "nab.csv", text)
    x, names, index = load_csv(path, return_index=True)
    lines = text.splitlines()
    assert names == ["value"] and x.shape == (len(lines) - 1, 1)
    assert index[0] == np.datetime64(lines[1].split(",")[0].replace(" ", "T"))
    np.testing.assert_array_equal(
        x[:, 0], np.float32([float(line.split(",")[1]) for line in lines[1:]])
    )
    # Every 5 minutes.
    assert (np.diff(index) == np.timedelta64(5, "m")).all()


def test_folder_is_a_set_of_series(tmp_path):
    rows = SKAB_LOG.splitlines()
    write(tmp_path / "b.csv", "\n".join(rows[:3]) + "\n")
    write(tmp_path / "a.csv", SKAB_LOG)
    write(tmp_path / "c.CSV", SKAB_LOG)
    # Left alone: other files, hidden files, sub-folders.
    write(tmp_path / "notes.txt", "not a series")
    write(tmp_path / ".a.csv", "not a series")
    (tmp_path / "sub.csv").mkdir()
    write(tmp_path / "sub.csv" / "d.csv", "x\n1\n")
    before = sorted(os.listdir(tmp_path))
    series, names, files = load_csv_folder(
        tmp_path, exclude=["anomaly", "changepoint"]
    )
    assert [os.path.basename(f) for f in files] == ["a.csv", "b.csv", "c.CSV"]
    assert names == SENSORS
    assert [s.shape for s in series] == [(3, 4), (2, 4), (3, 4)]
    np.testing.assert_array_equal(series[1], np.float32(SKAB_VALUES[:2]))
    # Windowed per file: (3 - 2 + 1) + (2 - 2 + 1) + (3 - 2 + 1) windows.
    x = windows(series, window=2)
    assert x.shape == (5, 2, 4)
    np.testing.assert_array_equal(x[2], series[1])
    series, names, files, indices = load_csv_folder(
        tmp_path, exclude=["anomaly", "changepoint"], return_index=True
    )
    np.testing.assert_array_equal(indices[1], SKAB_TIMES[:2])
    assert len(indices) == 3
    assert sorted(os.listdir(tmp_path)) == before  # Nothing written.


def test_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No folder at"):
        load_csv_folder(tmp_path / "nope")
    with pytest.raises(ValueError, match="No .csv files in"):
        load_csv_folder(tmp_path)
    write(tmp_path / "a.csv", "t,x,y\n2020-01-01,1,2\n")
    write(tmp_path / "b.csv", "t,x,z\n2020-01-01,1,2\n")
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{str(tmp_path / 'b.csv')!r} has the columns ['x', 'z'], where "
            f"{str(tmp_path / 'a.csv')!r} has ['x', 'y']: it lacks ['y'] and "
            "it has ['z'] in addition."
        ),
    ):
        load_csv_folder(tmp_path)
    write(tmp_path / "b.csv", "t,y,x\n2020-01-01,1,2\n")
    with pytest.raises(ValueError, match="the same ones in another order"):
        load_csv_folder(tmp_path)
    # An error in one file names that file.
    write(tmp_path / "b.csv", "t,x,y\n2020-01-01,1,\n")
    with pytest.raises(
        ValueError,
        match=f"Column 'y' \\(index 2\\) of "
        f"{re.escape(repr(str(tmp_path / 'b.csv')))} holds a missing value "
        "at line 2",
    ):
        load_csv_folder(tmp_path)


def test_the_first_problem_in_the_file_is_reported(tmp_path):
    path = write(tmp_path / "t.csv", "a,b\n1,x\n2,3,4\n")
    with pytest.raises(
        ValueError, match="'b' \\(index 1\\).* text at line 2: 'x'.*\\['a'\\]"
    ):
        load_csv(path)
    write(path, "a,b\n1,2,3\n1,x\n")
    with pytest.raises(ValueError, match="line 2 has 3 fields, line 1 has 2"):
        load_csv(path)
