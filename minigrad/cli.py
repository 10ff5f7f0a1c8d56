"""The ``minigrad`` command: ``minigrad demo`` and friends (argparse)."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    """Build a small expression, run backward, print every node's value and gradient."""
    from minigrad import Value
    from minigrad.engine import topological_order

    w, a, b = Value(-0.5, label="w"), Value(0.8, label="a"), Value(0.1, label="b")
    z = w * a + b
    z.label = "z"
    out = z.sigmoid()
    out.label = "sigma(z)"
    out.backward()
    for node in reversed(topological_order(out)):
        print(f"{node.label or node.op:>10}  data={node.data:+.6f}  grad={node.grad:+.6f}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minigrad", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="the main job: see where the gradient vanishes")
    demo.set_defaults(run=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
