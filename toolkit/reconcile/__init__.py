"""Reconciling PostCo return exports against the Rise.ai store-credit ledger.

The public face of the reconciler: :func:`reconcile` returns a frozen
:class:`ReconciliationResult` that writes the output folder, and :func:`format_summary` gives the
one-screen text of a run's ``summary.json``. The stages live in ``link`` (roles and links),
``classify`` (break reasons), ``balances`` (roll-forward), ``tables`` and ``summary`` (outputs).
"""

from toolkit.reconcile.engine import reconcile
from toolkit.reconcile.result import ReconciliationResult
from toolkit.reconcile.summary_text import format_summary

__all__ = ["ReconciliationResult", "format_summary", "reconcile"]
