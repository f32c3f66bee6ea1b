"""The reconcile-cost benchmark's tables, its targets (met or missed) and its JSON figures."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bot.worker.reconciler import ReconcilePolicy
from tests.benchmarks._reconcile_seed import Expected
from tests.benchmarks._report import table

MAX_STATEMENTS_PER_TRANSITION = 5.0
"""A transition's row UPDATE, event INSERT, outbox dedupe SELECT and INSERT, and for a
removal the row's DELETE."""


TARGET_HEALTH_ACTIONS = frozenset({"DescribeTargetGroups", "DescribeTargetHealth"})


@dataclass
class Run:
    """Figures of one measured run (`pass`, `idle` or `naive`) at one N."""

    name: str
    calls: dict[str, int]
    sql: dict[str, int]
    sql_rows: dict[str, int]
    seconds: float
    traced_peak_mib: float
    rss_delta_mib: float
    hwm_delta_mib: float
    report: dict[str, Any]
    scaled: bool = False

    @property
    def aws_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def mutations(self) -> int:
        return sum(v for k, v in self.calls.items() if not k.startswith("Describe"))

    @property
    def pages(self) -> int:
        """The connection and service reads (target health aside)."""
        return sum(
            v
            for k, v in self.calls.items()
            if k.startswith("Describe") and k not in TARGET_HEALTH_ACTIONS
        )

    @property
    def target_health_calls(self) -> int:
        """The reads of the targets behind the services' load balancers (ELBv2)."""
        return sum(v for k, v in self.calls.items() if k in TARGET_HEALTH_ACTIONS)


@dataclass
class SizeResult:
    """Everything measured at one N."""

    n: int
    expected: Expected
    seed_seconds: dict[str, float]
    passes_needed: int
    runs: list[Run]
    naive_polled: int
    targets: dict[str, bool] = field(default_factory=dict)

    def run(self, name: str) -> Run:
        return next(r for r in self.runs if r.name == name)


def _mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _per(value: float, count: int) -> float:
    return value / count if count else 0.0


def check(results: list[SizeResult]) -> list[tuple[str, bool, str]]:
    """Each target at each N: (what, met, figures)."""
    lines: list[tuple[str, bool, str]] = []
    for r in results:
        first, idle, e = r.run("pass"), r.run("idle"), r.expected
        reads = e.pages + e.target_health_calls
        bound = reads + e.mutations
        r.targets["aws_calls"] = first.aws_calls <= bound
        r.targets["idle_aws_calls"] = idle.aws_calls <= reads
        health = first.target_health_calls
        r.targets["target_health_calls"] = health == e.target_health_calls
        r.targets["one_pass"] = r.passes_needed == 1
        per_transition = _per(first.sql["transition_statements"], first.report["transitions"])
        r.targets["sql_per_transition"] = per_transition <= MAX_STATEMENTS_PER_TRANSITION
        lines += [
            (
                f"N={r.n}: AWS calls of the pass ≤ pages + target health + mutations",
                r.targets["aws_calls"],
                f"{first.aws_calls} ≤ {e.pages} + {e.target_health_calls} + {e.mutations} "
                f"= {bound}",
            ),
            (
                f"N={r.n}: AWS calls of the idle pass ≤ pages + target health",
                r.targets["idle_aws_calls"],
                f"{idle.aws_calls} ≤ {e.pages} + {e.target_health_calls}",
            ),
            (
                f"N={r.n}: target health adds 2 calls per active service, whatever N",
                r.targets["target_health_calls"],
                f"{health} = 2 × {e.services} services",
            ),
            (
                f"N={r.n}: one pass claims all {e.services} services (ReconcilePolicy.batch)",
                r.targets["one_pass"],
                f"{r.passes_needed} pass(es) needed",
            ),
            (
                f"N={r.n}: SQL statements per transition ≤ {MAX_STATEMENTS_PER_TRANSITION:g}",
                r.targets["sql_per_transition"],
                f"{first.sql['transition_statements']} / {first.report['transitions']} = "
                f"{per_transition:.2f}",
            ),
        ]
    outside = {r.run("pass").sql["outside_saves"] for r in results}
    idle_totals = {r.run("idle").sql["total"] for r in results}
    overheads = {
        round(_per(r.run("pass").sql["save_overhead"], r.run("pass").sql["saves"]), 2)
        for r in results
    }
    lines += [
        (
            "SQL statements of the pass outside the saves: the same for every N",
            len(outside) == 1,
            f"{sorted(outside)}",
        ),
        (
            "SQL statements of each unit's save, transitions aside: the same for every N",
            len(overheads) == 1,
            f"{sorted(overheads)} per save",
        ),
        (
            "SQL statements of the idle pass: the same for every N",
            len(idle_totals) == 1,
            f"{sorted(idle_totals)}",
        ),
    ]
    for r in results:
        r.targets["sql_independent_of_n"] = len(outside) == 1 and len(overheads) == 1
    return lines


def print_and_check(
    *, backend: str, results: list[SizeResult], policy: ReconcilePolicy
) -> dict[str, Any]:
    """Print the tables and the targets; the JSON document of the figures."""
    main_rows = []
    for r in results:
        e = r.expected
        for run in r.runs:
            scaled = "~" if run.scaled else ""
            main_rows.append(
                (
                    r.n,
                    run.name + (f" ({r.naive_polled} polled)" if run.scaled else ""),
                    f"{scaled}{run.aws_calls:,}",
                    e.pages if run.name != "naive" else "-",
                    run.target_health_calls,
                    run.mutations,
                    f"{scaled}{run.sql['total']:,}",
                    run.sql["reads"],
                    run.sql["writes"],
                    run.report.get("transitions", 0),
                    f"{scaled}{run.seconds:.2f}",
                    round(run.traced_peak_mib, 1),
                    round(run.rss_delta_mib, 1),
                    round(run.hwm_delta_mib, 1),
                )
            )
    print(f"\n== Reconcile pass cost on {backend} (policy batch={policy.batch}) ==")
    print(
        table(
            (
                "N",
                "run",
                "AWS calls",
                "pages exp.",
                "target health",
                "mutations",
                "SQL stmts",
                "reads",
                "writes",
                "transitions",
                "wall s",
                "tracemalloc MiB",
                "maxrss Δ MiB",
                "VmHWM Δ MiB",
            ),
            main_rows,
        )
    )
    print("\nAWS calls by operation (naive scaled to N)")
    print(
        table(
            ("N", "run", "calls by operation"),
            [
                (r.n, run.name, ", ".join(f"{k}={v:,}" for k, v in run.calls.items()) or "-")
                for r in results
                for run in r.runs
            ],
        )
    )
    print("\nPages per region expected (connections per region)")
    print(
        table(
            ("N", "services", "pages by region", "accept calls", "reject calls", "seed s"),
            [
                (
                    r.n,
                    r.expected.services,
                    ", ".join(
                        f"{region}={pages} ({r.expected.connections_by_region[region]:,})"
                        for region, pages in r.expected.pages_by_region.items()
                    ),
                    r.expected.accept_calls,
                    r.expected.reject_calls,
                    round(sum(r.seed_seconds.values()), 1),
                )
                for r in results
            ],
        )
    )
    print("\nSQL statements of the pass")
    print(
        table(
            (
                "N",
                "total",
                "outside saves",
                "saves",
                "per save (no transitions)",
                "transition stmts",
                "transitions",
                "per transition",
                "idle pass",
            ),
            [
                (
                    r.n,
                    r.run("pass").sql["total"],
                    r.run("pass").sql["outside_saves"],
                    r.run("pass").sql["saves"],
                    round(_per(r.run("pass").sql["save_overhead"], r.run("pass").sql["saves"]), 2),
                    r.run("pass").sql["transition_statements"],
                    r.run("pass").report["transitions"],
                    round(
                        _per(
                            r.run("pass").sql["transition_statements"],
                            r.run("pass").report["transitions"],
                        ),
                        2,
                    ),
                    r.run("idle").sql["total"],
                )
                for r in results
            ],
        )
    )
    lines = check(results)
    print("\nTargets")
    for what, ok, figures in lines:
        print(f"  [{_mark(ok)}] {what}: {figures}")
    return {
        "backend": backend,
        "policy": asdict(policy),
        "targets": [{"target": w, "met": ok, "figures": f} for w, ok, f in lines],
        "sizes": [
            {
                "n": r.n,
                "expected": {
                    **asdict(r.expected),
                    "pages": r.expected.pages,
                    "target_health_calls": r.expected.target_health_calls,
                    "mutations": r.expected.mutations,
                    "transitions": r.expected.transitions,
                },
                "seed_seconds": r.seed_seconds,
                "passes_needed": r.passes_needed,
                "naive_polled": r.naive_polled,
                "targets": r.targets,
                "runs": [
                    {
                        **asdict(run),
                        "aws_calls": run.aws_calls,
                        "mutations": run.mutations,
                        "pages": run.pages,
                        "target_health_calls": run.target_health_calls,
                    }
                    for run in r.runs
                ],
            }
            for r in results
        ],
    }
