"""minigrad.files: a file is written whole or not at all, whatever stops the writing."""

from __future__ import annotations

from pathlib import Path

import pytest

from minigrad.files import replacing, write_text


@pytest.mark.parametrize("stop", [KeyboardInterrupt, OSError, ValueError])
def test_an_interrupted_write_leaves_the_old_file_and_no_part(tmp_path: Path, stop: type) -> None:
    target = tmp_path / "flow.csv"
    target.write_text("the old table\n")
    with pytest.raises(stop), replacing(target) as temporary:
        temporary.write_text("half of the new ")
        raise stop()
    assert target.read_text() == "the old table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["flow.csv"]


def test_a_finished_write_replaces_the_file_and_makes_its_folder(tmp_path: Path) -> None:
    target = tmp_path / "new" / "folder" / "report.json"
    assert write_text(target, "{}\n") == target
    assert target.read_text() == "{}\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_a_folder_in_the_way_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "chain.svg").mkdir()
    with pytest.raises(IsADirectoryError) as error:
        write_text(tmp_path / "chain.svg", "<svg/>")
    assert error.value.filename == str(tmp_path / "chain.svg")
    assert "folder" in error.value.strerror


def test_the_pictures_and_tables_write_through_it(tmp_path: Path, monkeypatch) -> None:
    """save, save_figure, to_csv and to_json write a temporary file and rename it."""
    import os

    import numpy as np

    from minigrad import nn
    from minigrad.flow import gradient_flow
    from minigrad.viz import draw_layers, plot_speeds, save, save_figure

    renamed: list[tuple[str, str]] = []
    rename = os.replace

    def spy(source, target):
        renamed.append((Path(source).name, Path(target).name))
        rename(source, target)

    monkeypatch.setattr(os, "replace", spy)
    report = gradient_flow(nn.mlp([4, 3, 2], seed=0), np.ones((2, 4)), np.array([0, 1]))
    save(draw_layers(report), tmp_path / "layers.svg")
    save_figure(plot_speeds(report), tmp_path / "speeds.png")
    report.to_csv(tmp_path / "flow.csv")
    report.to_json(tmp_path / "flow.json")
    assert [target for _, target in renamed] == ["layers.svg", "speeds.png", "flow.csv",
                                                 "flow.json"]
    assert all(source.endswith(".part") for source, _ in renamed)
    assert (tmp_path / "speeds.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_written_file_has_the_mode_open_would_give_it(tmp_path: Path) -> None:
    """Not mkstemp's private 0600: what the umask allows, or the replaced file's own mode."""
    import os
    import stat

    mask = os.umask(0o022)
    try:
        made = write_text(tmp_path / "new.csv", "x\n")
        assert stat.S_IMODE(made.stat().st_mode) == 0o644
        kept = tmp_path / "kept.csv"
        kept.write_text("old\n")
        kept.chmod(0o640)
        write_text(kept, "new\n")
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(mask)
