"""drot-bench keeps every finished run: the run store, resume and --fresh, the checks of --out and
of every flag before any work, and the modes of the files it writes."""
import os
import stat

import pytest

from drot import report


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_atomic_writes_get_the_mode_open_gives(tmp_path, umask):
    old = os.umask(umask)
    try:
        written = [report.write_json(tmp_path / "a.json", {"x": 1}), report.write_csv(tmp_path / "a.csv", [{"x": 1}]),
                   report.write_text(tmp_path / "a.md", "| x |\n")]
        with open(tmp_path / "plain.txt", "w") as fh:
            fh.write("x")
    finally:
        os.umask(old)
    expected = 0o666 & ~umask
    assert stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode) == expected
    for path in written:
        assert stat.S_IMODE(os.stat(path).st_mode) == expected, path.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.json", "a.md", "plain.txt"]  # no temp left


def test_a_replaced_file_keeps_its_mode(tmp_path):
    path = report.write_json(tmp_path / "r.json", [1])
    os.chmod(path, 0o600)
    report.write_json(path, [2])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and path.read_text() == "[\n  2\n]\n"
