"""The ``minigrad`` command: every subcommand runs, writes what it says, and bad input exits 2."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.cli import main

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """``python -m minigrad ARGS`` in a fresh process, as a user would run it."""
    return subprocess.run([sys.executable, "-m", "minigrad", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=600,
                          env={**__import__("os").environ, "MPLBACKEND": "Agg"})


def written_files(stdout: str) -> list[Path]:
    """The paths a command lists under its 'Wrote:' line."""
    lines = stdout.split("Wrote:", 1)[1].splitlines()
    return [Path(line.strip()) for line in lines if line.strip()]


@pytest.mark.slow
def test_demo_trains_prints_the_flow_table_and_writes_the_pictures(tmp_path):
    result = run("demo", "--epochs", "1", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "hidden 1" in out and "output" in out
    assert re.search(r"learns \d+(\.\d+)?x slower than the last hidden layer", out), out
    accuracies = re.search(r"deep (\d+\.\d)%, shallow (\d+\.\d)%", out)
    assert accuracies, out
    files = written_files(out)
    names = {path.name for path in files}
    assert {"layers_at_init.svg", "layers.svg", "chain_first_layer.svg",
            "speed_of_learning.png", "report.html"} <= names
    for path in files:
        assert path.is_file() and path.stat().st_size > 500, path
        assert path.parent == tmp_path
    assert "<svg" in (tmp_path / "layers.svg").read_text()
    assert f"open {tmp_path / 'report.html'} in a browser" in out
    assert re.search(r"Test accuracy after 1 epoch: deep .*guessing gets 10%", out), out
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("<figure>") == 4 and "The layer picture at initialisation" in page
    # update:data is filled (for one step of eta 0.1), in the terminal and on the page
    rows = [line for line in out.splitlines() if re.match(r"^(hidden \d+|output)\s+\d", line)]
    assert len(rows) == 10 and all(re.search(r"-\d\.\d\d$", row) for row in rows), rows
    assert "update:data</th>" in page


def test_flow_prints_one_line_per_layer_with_its_speed(tmp_path):
    result = run("flow", "--sizes", "784,30,30,30,10", "--examples", "200", "--out",
                 str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines()
            if re.match(r"^(hidden \d+|output)\s", line)]
    assert [row.split()[0] + (row.split()[1] if row.startswith("hidden") else "")
            for row in rows] == ["hidden1", "hidden2", "hidden3", "output"]
    for row in rows:
        assert re.search(r"\d\.\d+(e-\d+)?", row), row
    assert (tmp_path / "layers.svg").is_file()
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("<figure>") == 2 and "The per-layer table at initialisation" in page


def test_flow_speeds_match_the_library(tmp_path, capsys):
    """The numbers the command prints are gradient_flow's numbers for the same net and batch."""
    from minigrad import data, nn
    from minigrad.flow import gradient_flow

    assert main(["flow", "--sizes", "784,30,30,10", "--examples", "100", "--seed", "3",
                 "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    mnist = data.load_mnist()
    report = gradient_flow(nn.mlp([784, 30, 30, 10], seed=3), mnist.x_train[:100],
                           mnist.y_train[:100])
    for row, speed in zip(report.layers, report.speeds):
        line = next(line for line in printed.splitlines() if line.startswith(row.role))
        assert f"{speed:.4g}" in line, (line, speed)


def test_flow_with_epochs_writes_the_speed_of_learning_curves(tmp_path):
    result = run("flow", "--sizes", "784,30,30,10", "--epochs", "5", "--examples", "100",
                 "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "speed_of_learning.png").stat().st_size > 1000
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("<figure>") == 3 and "after 5 epochs of full-batch training" in page


def test_chain_draws_the_exploding_construction(tmp_path, capsys):
    assert main(["chain", "--depth", "4", "--weight", "100", "--zero-z", "--out",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "dC/db1 = 3906.25 = 3906.25 x dC/da4" in out
    svg = (tmp_path / "chain.svg").read_text()
    assert "3906.25" in svg and "<svg" in svg


def test_chain_with_random_weights_prints_the_product_equal_to_the_gradient(tmp_path, capsys):
    assert main(["chain", "--depth", "6", "--seed", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    along = float(re.search(r"dC/db1 along this path = (\S+)", out).group(1))
    total = float(re.search(r"dC/db1 = (\S+) =", out).group(1))
    assert along == pytest.approx(total, rel=1e-5)


def test_lessons_lists_every_lesson_with_its_title(capsys):
    # how many lessons there must be is guarded once, by tests/test_lessons.py
    lessons = sorted(Path(__file__).resolve().parent.parent.glob("lessons/[0-9][0-9]_*.py"))
    assert main(["lessons"]) == 0
    listed = re.findall(r"^\s*(\d+)  (.*)$", capsys.readouterr().out, flags=re.M)
    assert [int(n) for n, _ in listed] == [int(p.name[:2]) for p in lessons] != []
    for number, title in listed:
        assert title.startswith(f"Lesson {number}: ") and not title.startswith("#"), title


def test_lesson_runs_one_lesson_quick_into_the_folder(tmp_path):
    result = run("lesson", "7", "--quick", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert any(tmp_path.iterdir())


@pytest.mark.parametrize("args, message", [
    (["flow", "--init", "gaussian"], "invalid choice: 'gaussian'"),
    (["flow", "--activation", "softsign"], "invalid choice: 'softsign'"),
    (["flow", "--sizes", "784,0,10"], "positive integers"),
    (["flow", "--sizes", "784,thirty,10"], "positive integers"),
    (["flow", "--sizes", "100,30,10"], "must start with 784"),
    (["chain", "--depth", "-3"], "positive integer"),
    (["chain", "--zero-z", "--bias", "1"], "--zero-z chooses the biases"),
    (["lesson", "42"], "no lesson 42"),
    (["demo", "--epochs", "0"], "positive integer"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_arguments_end_with_one_line_and_exit_code_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1], result.stderr
    assert len([line for line in lines if "error" in line]) == 1, result.stderr


def test_an_output_folder_that_cannot_be_written_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run("chain", "--out", str(blocker / "inside"))
    assert result.returncode == 2
    assert "cannot write to" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["demo", "lessons", "lesson", "flow", "chain"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: minigrad" in capsys.readouterr().out


@pytest.mark.parametrize("activation, init", [("tanh", "xavier"), ("relu", "he")])
def test_flow_works_for_every_activation(activation, init, tmp_path, capsys):
    """Hidden layers take the activation; the output stays sigmoid for the cross-entropy."""
    assert main(["flow", "--sizes", "784,30,30,10", "--activation", activation, "--init", init,
                 "--examples", "100", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"hidden 1\s+784->30\s+{activation}", out)
    assert re.search(r"output\s+30->10\s+sigmoid", out)


# ---- hardening: every bad input is one line, and nothing is left half-written -----------------
@pytest.mark.parametrize("args, message", [
    (["flow", "--sizes", "784,100000000,10"], "would need about"),
    (["flow", "--examples", "5000"], "the shipped sample has 4,000 training images"),
    (["flow", "--seed", "-1"], "expected a whole number >= 0"),
    (["flow", "--epochs", "nan"], "expected a whole number >= 0"),
    (["chain", "--seed", "-5"], "expected a whole number >= 0"),
    (["chain", "--depth", "100000000"], "would need about"),
    (["chain", "--weight", "abc"], "expected a number, got 'abc'"),
    (["chain", "--depth", "1e3"], "positive integer"),
    (["demo", "--epochs", "2.5"], "positive integer"),
    (["lesson", "0"], "positive integer"),
])
def test_each_bad_number_is_one_line_and_exit_code_2(args, message, tmp_path):
    result = run(*args, "--out", str(tmp_path)) if args[0] != "lesson" else run(*args)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_folder_where_a_file_goes_is_one_line_and_exit_code_1(tmp_path):
    (tmp_path / "chain.svg").mkdir()
    result = run("chain", "--out", str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "chain.svg" in lines[0] and "folder" in lines[0], result.stderr


def test_nan_and_inf_weights_flow_through_the_table_and_the_pictures(tmp_path):
    for weight in ("nan", "inf"):
        result = run("chain", "--depth", "3", "--weight", weight, "--out", str(tmp_path))
        assert result.returncode == 0, result.stderr[-2000:]
        assert "dC/db1 along this path = nan" in result.stdout
        assert "nan" in (tmp_path / "chain.svg").read_text()


def test_a_huge_table_is_shortened_with_a_note(tmp_path):
    result = run("chain", "--depth", "3000", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "steps left out (the whole table: path.table())" in result.stdout
    assert len(result.stdout.splitlines()) < 60


def test_a_closed_pipe_ends_quietly():
    """`minigrad chain --depth 3000 | head -3`: no BrokenPipeError, no traceback."""
    shell = subprocess.run(
        f"{sys.executable} -m minigrad chain --depth 3000 --out {REPO / 'minigrad-out' / 'pipe'}"
        " | head -3; echo \"exit=${PIPESTATUS[0]}\"", shell=True, executable="/bin/bash",
        capture_output=True, text=True, timeout=300, cwd=REPO)
    assert shell.stdout.splitlines()[-1] == "exit=141", shell.stdout
    assert len(shell.stdout.splitlines()) == 4
    assert "Traceback" not in shell.stderr and "BrokenPipe" not in shell.stderr, shell.stderr


def test_ctrl_c_ends_with_one_line_exit_130_and_no_half_written_file(tmp_path):
    """A real SIGINT in the middle of the demo's training."""
    import os
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-m", "minigrad", "demo", "--epochs", "30", "--out", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "MPLBACKEND": "Agg"})
    deadline = time.monotonic() + 120
    seen = ""
    while "Training it" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    assert "Training it" in seen, seen
    time.sleep(1.0)  # inside an epoch of training
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    # tqdm redraws its bar with carriage returns; the message is the last line, on its own
    pieces = [piece.strip() for piece in re.split(r"[\r\n]", stderr) if piece.strip()]
    assert pieces[-1] == "minigrad demo: interrupted", stderr[-1500:]
    assert stderr.rstrip().endswith("\nminigrad demo: interrupted"), stderr[-1500:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
