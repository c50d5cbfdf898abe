"""``toolkit reconcile``: the command-line shell over :func:`toolkit.reconcile.reconcile`.

Owns the flags and what goes where: progress on stderr, the one-screen summary on stdout, the
output folder written all-or-nothing. Exit status 0 (no high or medium break), 1 (at least one),
2 (input or settings refused; raised as :class:`~toolkit.errors.ToolkitError` and printed by
:mod:`toolkit.cli`). It must never compute anything the library does not.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from toolkit.errors import ToolkitError
from toolkit.progress import stage
from toolkit.settings import load_settings

__all__ = ["configure", "run"]


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``reconcile`` flags to ``parser``."""
    parser.epilog = (
        "Exit status: 0 no break of high or medium severity, 1 at least one, 2 input or settings "
        "refused (nothing is written then). Flags override the --config file."
    )
    inputs = parser.add_argument_group("inputs (several files per input are merged; exact "
                                       "duplicate rows are collapsed)")
    inputs.add_argument("--returns", action="append", required=True, type=Path, metavar="FILE",
                        help="PostCo return export (postco_returns.csv); repeat for several")
    inputs.add_argument("--ledger", action="append", required=True, type=Path, metavar="FILE",
                        help="Rise.ai gift-card transaction ledger (rise_ledger.csv); repeatable")
    inputs.add_argument("--notifications", action="append", type=Path, metavar="FILE",
                        help="customer emails sent (notifications.csv); enables "
                             "missing_notification; repeatable")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="output folder: breaks.csv, returns.csv, ledger.csv, balances.csv, "
                             "summary.json")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="TOML settings (a [reconcile] table or top-level keys; "
                             "[columns.returns] etc. map other exports' headers)")
    parser.add_argument("--as-of", metavar="TIMESTAMP",
                        help="the moment described, ISO 8601 (naive = --timezone); default: the "
                             "latest timestamp in the returns and the ledger")
    parser.add_argument("--report", action="store_true",
                        help="also render report.html and report.xlsx into the output folder")
    rules = parser.add_argument_group("settings (defaults from the contract)")
    rules.add_argument("--credit-pct", type=_decimal, metavar="PCT",
                       help="%% of store_credit_amount the Rise workflow issues (default 100)")
    rules.add_argument("--bonus-pct", type=_decimal, metavar="PCT",
                       help="%% of bonus_credit_amount issued on the bonus branch (default 100)")
    rules.add_argument("--bonus-min", type=_decimal, metavar="AMOUNT",
                       help="bonus branch runs only when bonus_credit_amount >= this "
                            "(currency units, default 1.00)")
    rules.add_argument("--amount-tolerance", type=int, metavar="MINOR",
                       help="allowed amount difference in minor units (default 0)")
    rules.add_argument("--issue-window-hours", type=int, metavar="HOURS",
                       help="a credit is due within this time after release (default 72)")
    rules.add_argument("--timezone", metavar="ZONE",
                       help="merchant reporting zone, also for naive timestamps (default UTC)")


def run(args: argparse.Namespace) -> int:
    """Reconcile, write the folder, print the summary; return the exit status."""
    from toolkit.reconcile import format_summary, reconcile

    settings = load_settings(
        args.config, credit_pct=args.credit_pct, bonus_pct=args.bonus_pct,
        bonus_min=args.bonus_min, amount_tolerance=args.amount_tolerance,
        issue_window_hours=args.issue_window_hours, timezone=args.timezone,
    )
    write_report = None
    if args.report:
        try:
            from toolkit.report import write_report
        except ImportError as exc:
            raise ToolkitError(
                f"--report: the report module is not available ({exc}); run without --report"
            ) from None
    result = reconcile(
        [str(p) for p in args.returns], [str(p) for p in args.ledger],
        [str(p) for p in args.notifications] if args.notifications else None,
        settings=settings, as_of=args.as_of,
    )
    with stage(f"writing {args.out}"):
        result.write(args.out)
    if write_report is not None:
        with stage("rendering the report"):
            write_report(args.out)
    sys.stdout.write(format_summary(result.summary, args.out))
    sys.stdout.flush()
    return result.exit_status
