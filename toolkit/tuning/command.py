"""``toolkit tune``: sweep store-credit bonus levels and say which one to offer, and how sure.

Reads the assumptions (a TOML ``--config``, a simulator ``--scenario``, a PostCo ``--export`` to
calibrate the customers' response and resample their returns), runs
:func:`~toolkit.tuning.sweep.sweep_bonus`, writes the output folder atomically and prints a short
recommendation. It wires flags to the library; it must never compute anything itself.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from toolkit.errors import ConfigError
from toolkit.money import MoneyParseError, parse_money
from toolkit.progress import stage

__all__ = ["configure", "load_tuning_config", "run"]

_SECTIONS = ("economics", "coefficients", "coefficient_sd", "population")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Sweep store-credit bonus levels (0 to --max % in --step % steps, plus fixed amounts) "
        "and recommend one. For each level: who takes credit, refund or exchange; credit and "
        "bonus issued; bonus cost; cash refunds avoided; net value per return; each with a 90 % "
        "band from Monte Carlo runs that redraw the customers' response coefficients and a "
        "month of returns. Writes sweep.csv, curve.csv, tornado.csv, recommendation.json and "
        "charts (uptake, net_benefit, tornado as PNG and SVG) into --out."
    )
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    parser.add_argument("--out", type=Path, required=True, help="output folder (replaced atomically)")
    parser.add_argument("--scenario", type=Path,
                        help="simulator scenario TOML: its return requests, drawn by the "
                             "simulator (values, currency, reasons, fees offered), are the returns "
                             "to value; its [choice] coefficients and redemption settings are the "
                             "starting assumptions ([coefficients] / [economics] in --config win)")
    parser.add_argument("--export", type=Path,
                        help="PostCo postco_returns.csv: fit the choice model to its decided "
                             "returns (an experiment with randomised bonus levels identifies the "
                             "bonus effect) and resample its returns")
    parser.add_argument("--step", type=float, default=1.0, metavar="PCT",
                        help="step of the percentage grid, in percent")
    parser.add_argument("--max", type=float, default=30.0, metavar="PCT",
                        help="largest percentage bonus, in percent")
    parser.add_argument("--fixed", default="5,10", metavar="AMOUNTS",
                        help="fixed bonuses to compare, comma-separated amounts in the returns' "
                             "currency ('' for none)")
    parser.add_argument("--runs", type=int, default=400, metavar="N", help="Monte Carlo runs")
    parser.add_argument("--returns", type=int, default=20000, metavar="N",
                        help="returns per Monte Carlo run (about a month of a mid-size shop)")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="random seed: the same seed gives byte-identical outputs")
    parser.add_argument("--config", type=Path,
                        help="TOML with [economics], [coefficients], [coefficient_sd] and "
                             "[population] tables (field names as in docs/tuning.md)")


def load_tuning_config(path: Path | None) -> dict[str, dict[str, Any]]:
    """The TOML's tables, validated; every problem is reported at once.

    Raises
    ------
    ConfigError
        Unreadable file, unknown table or field, or values out of range.
    """
    from toolkit.tuning.choice import ChoiceCoefficients
    from toolkit.tuning.economics import Economics
    from toolkit.tuning.population import ReturnPopulation

    if path is None:
        return {s: {} for s in _SECTIONS}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a TOML file ({exc})") from None
    problems = [f"unknown table [{k}]" for k in data if k not in _SECTIONS]
    out = {s: dict(data.get(s, {})) for s in _SECTIONS}
    for section, model in (("economics", Economics), ("coefficients", ChoiceCoefficients),
                           ("population", ReturnPopulation)):
        try:
            model(**out[section])
        except ValidationError as exc:
            problems += [f"[{section}] {'.'.join(map(str, e['loc']))}: {e['msg']}"
                         for e in exc.errors()]
        except TypeError as exc:
            problems.append(f"[{section}] {exc}")
    for name, value in out["coefficient_sd"].items():
        if name not in ChoiceCoefficients.model_fields:
            problems.append(f"[coefficient_sd] {name}: not a coefficient")
        elif not isinstance(value, int | float) or value < 0:
            problems.append(f"[coefficient_sd] {name}: must be a number >= 0")
    if problems:
        raise ConfigError(f"{path}:\n  " + "\n  ".join(problems))
    return out


def _fixed_amounts(text: str, currency: str) -> list[int]:
    amounts, bad = [], []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            amounts.append(parse_money(part, currency))
        except MoneyParseError:
            bad.append(part)
    if bad or any(a <= 0 for a in amounts):
        raise ConfigError(f"--fixed: not positive amounts in {currency}: {', '.join(bad) or text}")
    return amounts


def _check_flags(args: argparse.Namespace) -> None:
    problems = []
    if not 0 < args.step <= args.max:
        problems.append("--step must be > 0 and <= --max")
    if not 0 < args.max <= 200:
        problems.append("--max must be in (0, 200]")
    if args.runs < 2:
        problems.append("--runs must be at least 2")
    if args.returns < 1:
        problems.append("--returns must be at least 1")
    if problems:
        raise ConfigError("; ".join(problems))


def _print_summary(result: Any) -> None:
    rec = result.recommendation
    print(rec["headline"])
    print()
    print(f"{'level':<12}{'takes credit':>14}{'gain/return':>13}{'90 % band':>20}{'beats none':>12}")
    for lv in rec["asked_levels"]:
        band = f"{lv['net_gain_vs_none_band'][0]} .. {lv['net_gain_vs_none_band'][1]}"
        beats = "-" if lv["level"] == "none" else f"{lv['p_better_than_none']:.0%}"
        print(f"{lv['level']:<12}{lv['p_credit']:>13.1%} {lv['net_gain_vs_none_per_return']:>12}"
              f"{band:>20}{beats:>12}")
    lo, hi = rec["within_1pct_range_pct"]
    print()
    print(f"Best percentage (expected values): {rec['optimum_pct_closed_form']:.1f} %; "
          f"within 1 % of it: {lo:.1f} % to {hi:.1f} %; cheapest level that close: "
          f"{rec['cheapest_within_1pct']['level']}.")
    breakeven = rec["portfolio_breakeven_pct"]
    print("Breakeven (net back to the no-bonus level): "
          + (f"{breakeven:.1f} %." if breakeven is not None else "beyond 200 %."))
    for warning in rec["warnings"]:
        print(f"Note: {warning}.")


def run(args: argparse.Namespace) -> int:
    from toolkit.tuning.calibrate import fit_choice_model
    from toolkit.tuning.choice import ChoiceCoefficients
    from toolkit.tuning.economics import Economics
    from toolkit.tuning.observed import observed_returns
    from toolkit.tuning.population import ReturnPopulation, population_from_scenario
    from toolkit.tuning.sweep import sweep_bonus

    _check_flags(args)
    config = load_tuning_config(args.config)
    population: Any = ReturnPopulation(**config["population"])
    economics = Economics(**config["economics"])
    prior = ChoiceCoefficients(**config["coefficients"])
    if args.scenario is not None:
        with stage(f"simulating the return requests of {args.scenario}"):
            inputs = population_from_scenario(args.scenario)
        population = inputs.population
        prior = ChoiceCoefficients(**{**inputs.coefficients.model_dump(), **config["coefficients"]})
        economics = Economics(**{**inputs.economics, **config["economics"]})
    coefficients: Any = prior
    if args.export is not None:
        with stage(f"reading and calibrating on {args.export}"):
            observed = observed_returns(args.export)
            calibration = fit_choice_model(
                observed, prior=prior,
                typical_value_minor=(population.typical_value_minor
                                     if args.scenario is not None else None),
            )
        if calibration.n_used:
            coefficients = calibration
        if args.scenario is None:
            population = observed
    fixed = _fixed_amounts(args.fixed, population.currency)
    result = sweep_bonus(
        economics=economics, coefficients=coefficients,
        coefficient_sd=config["coefficient_sd"] or None, population=population,
        step_pct=args.step, max_pct=args.max, fixed_minor=fixed, runs=args.runs,
        returns=args.returns, seed=args.seed,
    )
    with stage(f"writing {args.out}"):
        result.write(args.out)
    _print_summary(result)
    print(f"\nTables, charts and the full recommendation: {args.out}")
    sys.stdout.flush()
    return 0
