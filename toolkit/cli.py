"""The ``toolkit`` command line: a thin shell over the library.

Each subcommand lives beside the code it drives (``toolkit/<area>/command.py``) and provides
``configure(parser)`` and ``run(args) -> int``. This module only dispatches and turns
:class:`~toolkit.errors.ToolkitError` into a message and an exit status: 0 fine, 1 when a
reconciliation found high or medium breaks, 2 when input or settings were refused.
It must never compute anything itself.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from toolkit.errors import ToolkitError

__all__ = ["main"]

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("toolkit.simulate.command", "simulate a merchant's returns and Rise ledger"),
    "reconcile": ("toolkit.reconcile.command", "reconcile PostCo returns against the Rise ledger"),
    "report": ("toolkit.report.command", "render the HTML and Excel report of a reconcile run"),
    "tune": ("toolkit.tuning.command", "sweep bonus levels: cost, uptake, net benefit, bands"),
    "demo": ("toolkit.demo", "simulate, reconcile and report the default scenario"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolkit",
        description=(
            "Simulate, reconcile and tune PostCo returns refunded as Rise.ai store credit. "
            "Exit status: 0 ok, 1 breaks of high or medium severity found, 2 input refused."
        ),
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        importlib.import_module(module).configure(sp)
        sp.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status instead of exiting (testable in-process)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    try:
        return int(importlib.import_module(args._module).run(args))
    except ToolkitError as exc:
        print(f"toolkit {args.command}: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("toolkit: interrupted", file=sys.stderr)
        return 130
