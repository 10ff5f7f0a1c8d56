"""The ``minigrad`` command.

    minigrad demo                    the main job: train a deep sigmoid net, see where it stalls
    minigrad lessons                 list the lessons
    minigrad lesson 5 --quick        run one lesson (figures go to --out)
    minigrad flow --sizes 784,30,30,30,30,10 --init nielsen --activation sigmoid
    minigrad chain --depth 4 --weight 100 --zero-z

Bad arguments end with a one-line error and exit code 2, never a traceback; so does a run that
would need more memory than the machine has (the error says how much). A file that cannot be
written ends with a one-line error and exit code 1; Ctrl-C with one line and exit code 130,
leaving no half-written file (every file is written whole or not at all); a closed pipe
(``minigrad chain | head``) ends quietly with exit code 141, as for any Unix tool.
"""

from __future__ import annotations

import argparse
import os
import runpy
import sys
from pathlib import Path

from minigrad.nn import ACTIVATIONS, SCHEMES

__all__ = ["main", "build_parser"]

LESSONS_DIR = Path(__file__).resolve().parent / "lessons"


class CommandError(Exception):
    """A bad argument found after parsing: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (``minigrad: error: ...``) and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def _lesson_files() -> dict[int, Path]:
    """{number: path} of the shipped lessons, e.g. {1: .../01_values_and_the_graph.py}."""
    return {int(p.name[:2]): p for p in sorted(LESSONS_DIR.glob("[0-9][0-9]_*.py"))}


def _lesson_title(path: Path) -> str:
    """The title of the lesson: the heading that opens its docstring (its first cell)."""
    import ast

    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    for line in docstring.splitlines():
        text = line.strip().lstrip("#").strip()
        if text:
            return text
    return path.stem


def _writable_folder(text: str) -> Path:
    """An output folder that exists (made if needed) and can be written, else a usage error."""
    folder = Path(text)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".minigrad-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot write to {folder}: {error.strerror}") from None
    return folder


def _sizes(text: str) -> list[int]:
    """'784,30,10' -> [784, 30, 10]; every size a positive integer, at least two of them."""
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"sizes must be positive integers separated by commas, got {text!r}") from None
    if len(sizes) < 2 or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(
            f"sizes must be at least two positive integers (input,...,output), got {text!r}")
    return sizes


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


def _available_memory() -> int | None:
    """Bytes of memory this process can still use (MemAvailable, else the physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_memory(needed: float, what: str) -> None:
    """A CommandError when ``needed`` bytes is more than the machine has available."""
    available = _available_memory()
    if available is not None and needed > available:
        raise CommandError(f"{what} would need about {_bytes(needed)} of memory; this machine "
                           f"has {_bytes(available)} available")


def _bytes(n: float) -> str:
    """1.5e9 -> '1.4 GiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1024
    return f"{n:.3g} TiB"


# A traced chain of single neurons, per neuron: its Values, the trace's steps, the path and
# the pictures' records (measured with tracemalloc at depth 500 and 2,000: about 5.4-5.7 KB),
# with a margin for the interpreter's own overhead.
CHAIN_BYTES_PER_NEURON = 12_000
TABLE_ROWS = 40  # the longest path table printed whole; longer ones show both ends


def _flow_memory(sizes: list[int], examples: int) -> float:
    """About how many bytes ``minigrad flow`` needs: the parameters with their gradients and
    the optimiser's temporaries, and every layer's activations, deltas and temporaries."""
    parameters = sum(n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:]))
    return 8.0 * (4 * parameters + 8 * examples * sum(sizes))


# ---- subcommands ------------------------------------------------------------------------------
def _cmd_lessons(args: argparse.Namespace) -> int:
    for number, path in _lesson_files().items():
        print(f"{number:2d}  {_lesson_title(path)}")
    print("\nrun one with: minigrad lesson N [--quick] [--out DIR]")
    return 0


def _cmd_lesson(args: argparse.Namespace) -> int:
    lessons = _lesson_files()
    if args.number not in lessons:
        raise CommandError(f"no lesson {args.number}; choose one of "
                           f"{', '.join(map(str, lessons))}")
    path = lessons[args.number]
    # The lesson reads its options as when run as a script (minigrad.lessons.settings).
    sys.argv = ([str(path)] + (["--quick"] if args.quick else [])
                + (["--out", str(args.out)] if args.out else []))
    runpy.run_path(str(path), run_name="__main__")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="minigrad", description="See the chain rule, and where deep "
                     "networks' gradients vanish or explode (Nielsen, chapter 5).")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser,
                                     metavar="COMMAND")

    demo = commands.add_parser("demo", help="the main job: a deep sigmoid net on MNIST, "
                               "its per-layer gradient flow and pictures")
    demo.add_argument("--out", type=_writable_folder, default=Path("minigrad-out/demo"),
                      help="folder for the pictures (default: minigrad-out/demo)")
    demo.add_argument("--epochs", type=_positive_int, default=3,
                      help="training epochs on the shipped sample (default: 3)")
    demo.set_defaults(run=_cmd_demo)

    lessons = commands.add_parser("lessons", help="list the lessons")
    lessons.set_defaults(run=_cmd_lessons)

    lesson = commands.add_parser("lesson", help="run one lesson")
    lesson.add_argument("number", type=_positive_int, help="the lesson's number, e.g. 5")
    lesson.add_argument("--quick", action="store_true", help="the few-second setting")
    lesson.add_argument("--out", type=_writable_folder, default=None,
                        help="folder for the lesson's figures (default: minigrad-out/lesson_NN)")
    lesson.set_defaults(run=_cmd_lesson)

    flow = commands.add_parser("flow", help="per-layer gradient flow of any net you name")
    flow.add_argument("--sizes", type=_sizes, default=[784, 30, 30, 30, 30, 10],
                      help="layer sizes, input first (default: 784,30,30,30,30,10)")
    flow.add_argument("--init", default="nielsen", choices=list(SCHEMES),
                      help="weight initialisation (default: nielsen, the book's)")
    flow.add_argument("--activation", default="sigmoid", choices=list(ACTIVATIONS),
                      help="activation after every layer (default: sigmoid)")
    flow.add_argument("--epochs", type=_non_negative_int, default=0,
                      help="full-batch training epochs before measuring (default: 0)")
    flow.add_argument("--examples", type=_positive_int, default=1000,
                      help="training images measured on (default: 1000, as in the book)")
    flow.add_argument("--seed", type=_non_negative_int, default=0,
                      help="initialisation seed (default: 0)")
    flow.add_argument("--out", type=_writable_folder, default=Path("minigrad-out/flow"),
                      help="folder for the pictures (default: minigrad-out/flow)")
    flow.set_defaults(run=_cmd_flow)

    chain = commands.add_parser("chain", help="draw the chain-rule product of a chain of "
                                "single sigmoid neurons")
    chain.add_argument("--depth", type=_positive_int, default=4, help="neurons (default: 4)")
    chain.add_argument("--weight", type=_number, default=None,
                       help="every weight w_j (default: random N(0, 1); nan and inf are "
                       "drawn as such)")
    chain.add_argument("--bias", type=_number, default=None,
                       help="every bias b_j (default: random N(0, 1))")
    chain.add_argument("--zero-z", action="store_true",
                       help="choose b_j = -w_j a_(j-1) so every z_j = 0 (the book's "
                       "exploding construction with --weight 100)")
    chain.add_argument("--input", type=_number, default=0.5, help="the input a_0 (default 0.5)")
    chain.add_argument("--seed", type=_non_negative_int, default=0,
                       help="seed for random w, b (default: 0)")
    chain.add_argument("--out", type=_writable_folder, default=Path("minigrad-out/chain"),
                       help="folder for the picture (default: minigrad-out/chain)")
    chain.set_defaults(run=_cmd_chain)
    return parser


def _book_batch(examples: int):
    """The shipped MNIST sample and its first ``examples`` training images (the book's 1,000)."""
    from minigrad import data

    mnist = data.load_mnist()
    return mnist, mnist.x_train[:examples], mnist.y_train[:examples]


def _write_flow_pictures(report, recorder, out: Path) -> list[Path]:
    """The layer-level picture, the table as CSV and (with a recorder) the curves."""
    from minigrad.viz import draw_layers, plot_curves, save, save_figure

    written = [save(draw_layers(report), out / "layers.svg"), report.to_csv(out / "flow.csv")]
    if recorder is not None and len(recorder.reports) > 1:
        written.append(save_figure(plot_curves(recorder), out / "speed_of_learning.png"))
    return written


def _first_layer_chain(model, x, y, out: Path) -> Path:
    """Trace the batch the layer picture measured and draw the chain of factors down to the
    first hidden bias: its last product is dC/db¹, whose size is the table's s_1."""
    from minigrad import nn
    from minigrad.flow import linear_layers
    from minigrad.trace import trace
    from minigrad.viz import draw_chain, save

    first_bias = linear_layers(model)[0][1].bias
    record = trace(nn.cross_entropy_loss(model(x), y))
    model.zero_grad()  # the trace's backward left gradients behind; the model is not trained
    graph = draw_chain(record.path(first_bias),
                       title="∂C/∂b¹ of the first hidden layer, factor by factor")
    return save(graph, out / "chain_first_layer.svg")


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def _pictures(written: list[Path], when: str) -> list[tuple[str, Path]]:
    """The page's pictures, from the files written: (heading, path), in the page's order."""
    headings = {
        "layers_at_init.svg": "The layer picture at initialisation",
        "layers.svg": f"The layer picture {when}",
        "chain_first_layer.svg": "The chain of the first hidden layer's gradient, "
                                 "factor by factor (eq. 124)",
        "speed_of_learning.png": "The speed of learning of each hidden layer during training",
    }
    return [(headings[path.name], path) for name in headings for path in written
            if path.name == name]


# update:data is measured for a step of the book's learning rate, the one the demo trains with
LEARNING_RATE = 0.1
GUESSING = 0.2  # a test accuracy below this, with ten digits (guessing: 10%), is still guessing


def _accuracy_words(deep: float, shallow: float, epochs: int) -> str:
    """The two accuracies, and what they mean."""
    words = (f"Test accuracy after {_epochs(epochs)}: deep {deep:.1%}, shallow {shallow:.1%} "
             "(the fraction of the sample's test digits each net names correctly; guessing "
             "gets 10%).")
    if deep < GUESSING:
        words += (" The deep net is still guessing: its first layers have hardly moved, "
                  "because their gradient vanished on its way down.")
    elif deep < shallow:
        words += " The deep net trails the shallow one: its first layers learn slowly."
    return words


def _sentence(summary: str, when: str) -> str:
    """'the first hidden layer learns ...' -> 'At initialisation, the first hidden layer ...'."""
    return f"{when[0].upper()}{when[1:]}, {summary}."


def _print_written(written: list[Path]) -> None:
    """The files, the page first named: it holds everything the others do."""
    page = next(path for path in written if path.name == "report.html")
    print(f"Everything is on one page: open {page} in a browser.")
    print("Wrote:")
    for path in written:
        print(f"  {path}")


def _cmd_demo(args: argparse.Namespace) -> int:
    """Train a 4-hidden-layer sigmoid net briefly and show where its gradient vanishes."""
    from minigrad import nn
    from minigrad.flow import FlowRecorder, gradient_flow
    from minigrad.train import fit
    from minigrad.viz import draw_layers, save, write_report

    out = args.out
    sizes = [784, 30, 30, 30, 30, 10]
    mnist, x_book, y_book = _book_batch(1000)
    model = nn.mlp(sizes, activation="sigmoid", init="nielsen", seed=0)
    print(f"minigrad demo: a sigmoid net {sizes} on {len(mnist.x_train):,} MNIST digits "
          "(the shipped sample)\n")
    print("At initialisation, measured on the book's 1,000 training images:")
    before = gradient_flow(model, x_book, y_book, lr=LEARNING_RATE)
    print(before.table(), "\n")
    at_init = save(draw_layers(before, title="at initialisation"), out / "layers_at_init.svg")

    settings = dict(epochs=args.epochs, batch_size=10, lr=LEARNING_RATE,
                    weight_decay=5.0 / len(mnist.x_train))  # the book's eta and lambda
    recorder = FlowRecorder(x_book, y_book, every=100)
    print(f"Training it for {_epochs(args.epochs)} of mini-batch SGD (eta 0.1, lambda 5.0, "
          "mini-batch 10):")
    deep = fit(model, mnist, callbacks=[recorder], **settings).test_accuracy[-1]
    print(f"For comparison, the one-hidden-layer net {[784, 30, 10]} with the same settings:")
    shallow = fit(nn.mlp([784, 30, 10], seed=0), mnist, **settings).test_accuracy[-1]
    accuracy = _accuracy_words(deep, shallow, args.epochs)
    print(f"\n{accuracy}")
    after = gradient_flow(model, x_book, y_book, lr=LEARNING_RATE)
    print(f"Gradient flow of the deep net after training:\n{after.table()}\n")

    written = [at_init, *_write_flow_pictures(after, recorder, out)]
    written.append(_first_layer_chain(model, x_book, y_book, out))
    written.append(write_report(
        out / "report.html", title="minigrad demo: where a deep sigmoid net's gradient vanishes",
        settings={
            "net": f"{sizes}, sigmoid on every layer, the book's initialisation (nielsen), "
                   "seed 0",
            "data": f"the shipped MNIST sample: {len(mnist.x_train):,} training and "
                    f"{len(mnist.x_test):,} test images",
            "measured on": "the book's 1,000 training images (the first 1,000), cross-entropy",
            "training": f"{_epochs(args.epochs)} of mini-batch SGD: mini-batch 10, eta 0.1, "
                        "lambda 5.0 (L2 on the weights)",
            "compared with": "the one-hidden-layer net [784, 30, 10], the same settings",
            "update:data": "for one step of eta 0.1",
        },
        notes=[accuracy, _sentence(before.summary(), "at initialisation"),
               _sentence(after.summary(), "after training")],
        reports=[("The per-layer table at initialisation", before),
                 (f"The per-layer table after {_epochs(args.epochs)} of training", after)],
        pictures=_pictures(written, f"after {_epochs(args.epochs)} of training")))
    _print_written(written)
    return 0


def _cmd_flow(args: argparse.Namespace) -> int:
    """The per-layer table and pictures for the net the user names."""
    from minigrad import nn
    from minigrad.flow import gradient_flow
    from minigrad.train import speed_of_learning_curves
    from minigrad.viz import write_report

    _check_memory(_flow_memory(args.sizes, args.examples),
                  f"a net {','.join(map(str, args.sizes))} on {args.examples:,} images")
    mnist, x, y = _book_batch(args.examples)
    if args.examples > len(x):
        raise CommandError(f"--examples {args.examples}: the shipped sample has "
                           f"{len(mnist.x_train):,} training images")
    if args.sizes[0] != x.shape[1] or args.sizes[-1] != 10:
        raise CommandError(f"--sizes must start with {x.shape[1]} (MNIST pixels) and end with "
                           f"10 (digits), got {','.join(map(str, args.sizes))}")
    # The output layer stays sigmoid: the book's cross-entropy cost needs outputs in [0, 1].
    model = nn.mlp(args.sizes, activation=args.activation, init=args.init, seed=args.seed,
                   output_activation="sigmoid")
    print(f"Net {args.sizes}, {args.activation}, init {args.init!r}, seed {args.seed}, "
          f"measured on {len(x):,} MNIST training images")
    recorder = None
    when = "at initialisation"
    if args.epochs:
        recorder = speed_of_learning_curves(model, x, y, epochs=args.epochs, lr=LEARNING_RATE,
                                            weight_decay=5.0, progress=True)
        when = f"after {_epochs(args.epochs)} of full-batch training (eta 0.1, lambda 5.0)"
        print(f"{when}:")
    report = gradient_flow(model, x, y, lr=LEARNING_RATE)
    print(report.table())
    written = _write_flow_pictures(report, recorder, args.out)
    written.append(_first_layer_chain(model, x, y, args.out))
    written.append(write_report(
        args.out / "report.html", title=f"minigrad flow: the net {args.sizes}",
        settings={
            "net": f"{args.sizes}, {args.activation} hidden layers, sigmoid output layer",
            "initialisation": f"{args.init}, seed {args.seed}",
            "measured on": f"the first {len(x):,} MNIST training images, cross-entropy",
            "training": (f"{_epochs(args.epochs)} of full-batch gradient descent (eta 0.1, "
                         "lambda 5.0)" if args.epochs else "none: measured at initialisation"),
            "update:data": "for one step of eta 0.1",
        },
        notes=[_sentence(report.summary(), when)],
        reports=[(f"The per-layer table {when}", report)],
        pictures=_pictures(written, when)))
    _print_written(written)
    return 0


def _cmd_chain(args: argparse.Namespace) -> int:
    """Nielsen's chain of single neurons with the user's numbers, factor by factor."""
    import numpy as np

    from minigrad.trace import neuron_chain, trace
    from minigrad.viz import draw_chain, draw_graph, save

    _check_memory(CHAIN_BYTES_PER_NEURON * args.depth, f"a chain of {args.depth:,} neurons")
    rng = np.random.default_rng(args.seed)
    weights = ([args.weight] * args.depth if args.weight is not None
               else list(rng.standard_normal(args.depth)))
    if args.zero_z:
        if args.bias is not None:
            raise CommandError("--zero-z chooses the biases; drop --bias")
        biases = None
    else:
        biases = ([args.bias] * args.depth if args.bias is not None
                  else list(rng.standard_normal(args.depth)))
    chain = neuron_chain(weights, biases, x=args.input, zero_z=args.zero_z, cost="output")
    record = trace(chain.cost)
    path = record.path(chain.b[0])
    print(path.table(max_rows=TABLE_ROWS))
    a_last = chain.a[-1]
    print(f"\ndC/db1 = {chain.b[0].grad:.6g} = {chain.b[0].grad / a_last.grad:.6g} x dC/da"
          f"{args.depth}")
    written = [save(draw_chain(path), args.out / "chain.svg"),
               save(draw_graph(chain.cost, trace=record), args.out / "chain_graph.svg")]
    print("Wrote:")
    for file in written:
        print(f"  {file}")
    return 0


def _number(text: str) -> float:
    """A real number (nan and inf included: a chain may be built from them, and drawn)."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code (0, 1: a file error, 2: bad input, 130: Ctrl-C)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CommandError as error:
        print(f"minigrad {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"minigrad {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader left (`minigrad chain | head`): stop quietly, and keep Python from
        # complaining about the unflushed rest at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except MemoryError:
        print(f"minigrad {args.command}: error: out of memory", file=sys.stderr)
        return 2
    except OSError as error:  # a file that cannot be written: a folder in its way, a full disk
        where = f" {error.filename}" if error.filename else ""
        print(f"minigrad {args.command}: error: cannot write{where}: "
              f"{error.strerror or error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
