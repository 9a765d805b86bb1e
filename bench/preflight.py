"""Pre-flight benchmark: `invoicing.services.invoice_check` on provisional invoices.

    .venv/bin/python bench/preflight.py [--runs 30] [--sizes 1,10,100] [--page-runs 30]

The « Contrôle » panel of the entry page runs the pre-flight on every page view: the XML
built, the XSD and EN 16931 / Factur-X Schematron (child process), our business rules and
the glyph coverage of every text. Per invoice, for 1, 10 and 100 lines: median and p95
wall time over --runs invoices (each a different one, after a warm-up), in one process,
plus the CPU time of this process and of the Schematron child. Then the median time of
`GET /factures/<pk>/` (entry page of a 10-line provisional invoice, test Client, logged in).
Target: pre-flight < 150 ms at 10 lines.

Needs PostgreSQL at 127.0.0.1:5432 (user postgres); its database chorale_bench_preflight
is recreated. The seller, buyer and lines are those of bench/facturx.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/facturx.py would shadow the factur-x library: keep bench/ itself off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))
DB_NAME = "chorale_bench_preflight"
# Forced, not defaulted: the database dropped below must be the one the bench uses.
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from bench.facturx import BUYER, SELLER, make_snapshot, p95  # noqa: E402 (runs django.setup)
from facturx_export import checks  # noqa: E402
from invoicing import services  # noqa: E402
from invoicing.models import Company, Customer, Dossier, Invoice, Membership  # noqa: E402

COMPANY_FIELDS = [
    "name", "legal_form", "share_capital", "siren", "siret", "vat_number", "rcs", "email",
    "phone", "address_line1", "postcode", "city",
]  # fmt: skip
CUSTOMER_FIELDS = ["name", "siret", "address_line1", "postcode", "city"]


def make_parties() -> tuple[Company, Customer]:
    """The seller and buyer of bench/facturx.py, as database rows."""
    dossier = Dossier.objects.create(name="Bench", facturx_module_enabled=True)
    company = Company.objects.create(
        dossier=dossier,
        iban="FR7630006000011234567890189",
        bic="AGRIFRPP",
        **{name: getattr(SELLER, name) for name in COMPANY_FIELDS},
    )
    customer = Customer.objects.create(
        dossier=dossier,
        code="MAIRIE",
        kind=Customer.Kind.COMPANY,
        chorus_enabled=True,
        default_service_code="SERV-TECH-01",
        default_engagement_number="EJ-2026-000123",
        **{name: getattr(BUYER, name) for name in CUSTOMER_FIELDS},
    )
    return company, customer


def make_invoice(company: Company, customer: Customer, n_lines: int, seq: int) -> int:
    """A provisional invoice with the lines of bench/facturx.py's snapshot (n_lines, seq)."""
    lines = [
        services.LineInput(
            label=line.label,
            quantity=line.quantity,
            unit_price=line.unit_price,
            unit=line.unit,
            vat_rate=line.vat_rate,
        )
        for line in make_snapshot(n_lines, seq).lines
    ]
    return services.invoice_create(company=company, customer=customer, lines=lines).pk


def load(pk: int) -> Invoice:
    """The invoice as the entry page loads it."""
    return Invoice.objects.select_related("company", "customer", "credited_invoice").get(pk=pk)


def measure(pks: list[int]):
    """Wall, CPU (this process + Schematron child) and the child's CPU alone of the pre-flight
    of each invoice; the number of problems found (0 expected)."""
    walls, cpus, saxon, problems = [], [], [], 0
    for pk in pks:
        invoice = load(pk)
        s0 = checks.stats["schematron_cpu_seconds"]
        c0, t0 = time.process_time(), time.perf_counter()
        found, _fingerprint = services.invoice_check(invoice)
        walls.append(time.perf_counter() - t0)
        saxon.append(checks.stats["schematron_cpu_seconds"] - s0)
        cpus.append(time.process_time() - c0 + saxon[-1])
        problems += len(found)
    return walls, cpus, saxon, problems


def measure_page(pk: int, runs: int, member: Membership) -> list[float]:
    client = Client(HTTP_HOST="localhost")
    client.force_login(member.user)
    url = reverse("invoice_detail", args=[pk])
    walls = []
    for i in range(runs + 3):  # the first three are the warm-up
        t0 = time.perf_counter()
        response = client.get(url)
        wall = time.perf_counter() - t0
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: HTTP {response.status_code}")
        if i >= 3:
            walls.append(wall)
    return walls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="invoices per size")
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--page-runs", type=int, default=30, help="0: skip the page")
    args = parser.parse_args()

    recreate_database()
    call_command("migrate", verbosity=0)
    company, customer = make_parties()
    sizes = [int(s) for s in args.sizes.split(",")]
    pks = {size: [make_invoice(company, customer, size, seq) for seq in range(1, args.runs + 1)]
           for size in sizes}  # fmt: skip

    checks.warm_up()
    warm = make_invoice(company, customer, 3, 0)
    for _ in range(3):
        services.invoice_check(load(warm))

    print(f"pre-flight per invoice, {args.runs} invoices per size, {os.cpu_count()} cores")
    for size in sizes:
        walls, cpus, saxon, problems = measure(pks[size])
        print(
            f"{size:>4} lines  median {statistics.median(walls) * 1000:6.1f} ms  "
            f"p95 {p95(walls) * 1000:6.1f} ms  cpu {statistics.median(cpus) * 1000:6.1f} ms "
            f"(Schematron child {statistics.median(saxon) * 1000:5.1f})  problems {problems}",
            flush=True,
        )

    if args.page_runs:
        member = Membership.objects.create(
            user=get_user_model().objects.create_user("bench"),
            dossier=company.dossier,
            role=Membership.Role.ADMIN,
        )
        pk = pks[10][0] if 10 in pks else make_invoice(company, customer, 10, 1)
        walls = measure_page(pk, args.page_runs, member)
        print(
            f"GET /factures/<pk>/ (10 lines)  median {statistics.median(walls) * 1000:6.1f} ms  "
            f"p95 {p95(walls) * 1000:6.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
