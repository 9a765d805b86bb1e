"""Factur-X benchmark: our pipeline against the straightforward one, same invoices, same run.

    .venv/bin/python bench/facturx.py [--runs 30] [--batch 1000] [--out docs/benchmarks.md]

Per Factur-X (XML + PDF/A-3 + embedding + checks), for 1, 10 and 100 lines: median and p95
wall time, CPU time, and the peak memory of the process; then a batch of ten-line invoices
(throughput, wall and per CPU-second). Invoices are built as snapshots (no database).

"Straightforward pipeline": the invoice HTML a developer writes first (flexbox header, a
table of lines, WeasyPrint's default stylesheet and options apart from pdf/a-3b), then
`facturx.generate_from_binary` (its XSD check on; its Schematron check needs a Saxon server
and silently passes without one, so it costs nothing there, while ours runs the real one).
Every file of both pipelines is written to --keep DIR if given, for the validator.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the factur-x package: keep bench/ itself off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")

import django  # noqa: E402

django.setup()

import facturx  # noqa: E402
from django.template import Context, Template  # noqa: E402
from weasyprint import HTML  # noqa: E402

from facturx_export import checks  # noqa: E402
from facturx_export.services import facturx_build_snapshot  # noqa: E402
from facturx_export.snapshot import InvoiceSnapshot, Line, Party  # noqa: E402
from facturx_export.xml import build_xml  # noqa: E402
from invoicing.totals import compute_totals  # noqa: E402


@dataclass
class _L:
    quantity: Decimal
    unit_price: Decimal
    vat_category: str
    vat_rate: Decimal
    exemption_reason: str = ""


SELLER = Party(
    name="Vignobles Démo SAS", siret="73282932000074", siren="732829320",
    vat_number="FR44732829320", legal_form="SAS", share_capital="10000.00", rcs="Reims",
    email="factures@vignobles-demo.fr", phone="03 26 00 00 00",
    address_line1="12 rue des Vignes", postcode="51100", city="Reims",
)  # fmt: skip
BUYER = Party(
    name="Mairie de Démoville", siret="11000601200014", siren="110006012", public=True,
    address_line1="1 place de la Mairie", postcode="75001", city="Paris",
)  # fmt: skip
RATES = [Decimal("20.00"), Decimal("10.00"), Decimal("5.50")]


def make_snapshot(n_lines: int, seq: int = 1) -> InvoiceSnapshot:
    raw = [
        _L(
            Decimal(1 + i % 7),
            Decimal(f"{12 + i * 3}.{(i * 7 + seq) % 100:02d}"),
            "S",
            RATES[i % 3],
        )
        for i in range(1, n_lines + 1)
    ]
    totals = compute_totals(raw)
    lines = tuple(
        Line(
            position=i,
            label=f"Article {i} – fourniture de bureau, référence {1000 + i}",
            unit="C62",
            unit_label="unité",
            quantity=r.quantity,
            unit_price=r.unit_price,
            vat_category="S",
            vat_rate=r.vat_rate,
            net_amount=net,
        )  # fmt: skip
        for i, (r, net) in enumerate(zip(raw, totals.line_nets, strict=True), 1)
    )
    return InvoiceSnapshot(
        number=f"FA2026-{seq:05d}", is_credit_note=False, issue_date=datetime.date(2026, 3, 2),
        due_date=datetime.date(2026, 4, 1), seller=SELLER, buyer=BUYER, lines=lines,
        totals=totals, buyer_reference="SERV-TECH-01", order_reference="EJ-2026-000123",
        iban="FR7630006000011234567890189", bic="AGRIFRPP", late_penalty_rate=Decimal("12.15"),
    )  # fmt: skip


BASELINE_HTML = Template("""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
<style>
@page { size: A4; margin: 15mm; @bottom-right { content: "Page " counter(page) " / " counter(pages) } }
body { font-family: "DejaVu Sans", sans-serif; font-size: 9pt }
.header { display: flex; justify-content: space-between; align-items: flex-start; margin-bottom: 10mm }
.header > div { width: 45% }
table { width: 100%; border-collapse: collapse }
th { background: #eee; text-align: left } th, td { border-bottom: 1px solid #ccc; padding: 4px }
td.n { text-align: right } .totals { margin-left: auto; width: 50% }
</style></head><body>
<div class="header">
 <div><h2>{{ s.seller.name }}</h2><p>{{ s.seller.address_line1 }}<br>{{ s.seller.postcode }} {{ s.seller.city }}<br>
 SIRET {{ s.seller.siret }}<br>TVA {{ s.seller.vat_number }}</p></div>
 <div><h1>Facture {{ s.number }}</h1><p>Date : {{ s.issue_date|date:"d/m/Y" }}<br>Échéance : {{ s.due_date|date:"d/m/Y" }}</p>
 <h3>{{ s.buyer.name }}</h3><p>{{ s.buyer.address_line1 }}<br>{{ s.buyer.postcode }} {{ s.buyer.city }}<br>SIRET {{ s.buyer.siret }}</p></div>
</div>
<table><thead><tr><th>N°</th><th>Désignation</th><th>Qté</th><th>PU HT</th><th>TVA</th><th>Montant HT</th></tr></thead>
<tbody>{% for l in s.lines %}<tr><td>{{ l.position }}</td><td>{{ l.label }}</td><td class="n">{{ l.quantity }}</td>
<td class="n">{{ l.unit_price|floatformat:2 }}</td><td class="n">{{ l.vat_rate }} %</td><td class="n">{{ l.net_amount }}</td></tr>{% endfor %}</tbody></table>
<table class="totals">{% for v in s.totals.vat_breakdown %}<tr><td>TVA {{ v.rate }} % sur {{ v.taxable_amount }}</td><td class="n">{{ v.tax_amount }}</td></tr>{% endfor %}
<tr><td>Total HT</td><td class="n">{{ s.totals.tax_exclusive }}</td></tr><tr><td>Total TVA</td><td class="n">{{ s.totals.tax_total }}</td></tr>
<tr><td><b>Total TTC</b></td><td class="n"><b>{{ s.totals.tax_inclusive }}</b></td></tr></table>
<p>Pénalités de retard : {{ s.late_penalty_rate }} % l'an. Indemnité forfaitaire pour frais de recouvrement : 40 €.</p>
<p>IBAN {{ s.iban }}</p></body></html>""")  # noqa: E501


def baseline_build(snapshot: InvoiceSnapshot) -> bytes:
    xml_bytes = build_xml(snapshot)
    html = BASELINE_HTML.render(Context({"s": snapshot}))
    pdf = HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
    return facturx.generate_from_binary(pdf, xml_bytes)


def ours_build(snapshot: InvoiceSnapshot) -> bytes:
    return facturx_build_snapshot(snapshot)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_peak_rss_mib() -> float:
    """Peak RSS of the Schematron child process (Linux /proc), 0 if none."""
    child = checks._child
    if child is None or child.process.poll() is not None:
        return 0.0
    status = Path(f"/proc/{child.process.pid}/status").read_text()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure_pair(builds, snapshots, keep: Path | None, size: int):
    """Both pipelines on each invoice in turn, so a busy machine slows both alike."""
    walls = {tag: [] for tag in builds}
    cpus = {tag: [] for tag in builds}
    for i, snapshot in enumerate(snapshots):
        for tag, build in builds.items():
            s0 = checks.stats["schematron_cpu_seconds"]
            c0, t0 = time.process_time(), time.perf_counter()
            data = build(snapshot)
            walls[tag].append(time.perf_counter() - t0)
            # This process's CPU plus the Schematron child's: what the invoice really costs.
            cpus[tag].append(time.process_time() - c0 + checks.stats["schematron_cpu_seconds"] - s0)
            if keep and i == 0:
                (keep / f"{tag}_{size}_lines.pdf").write_bytes(data)
    return walls, cpus


def p95(values):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="invoices per size and pipeline")
    parser.add_argument("--batch", type=int, default=1000, help="ten-line invoices in the batch")
    parser.add_argument("--sizes", default="1,10,100")
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    parser.add_argument("--keep", type=Path, help="keep one file per size and pipeline here")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)

    # Process-wide set-up happens once in both pipelines' real lives: warm both up.
    checks.warm_up()
    ours_build(make_snapshot(3))
    baseline_build(make_snapshot(3))
    rss_after_warmup = peak_rss_mib()

    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        runs = args.runs if size < 100 else max(5, args.runs // 3)
        snaps = [make_snapshot(size, seq) for seq in range(1, runs + 1)]
        result = {"size": size}
        builds = {"baseline": baseline_build, "ours": ours_build}
        walls, cpus = measure_pair(builds, snaps, args.keep, size)
        for tag in builds:
            result[tag] = (
                statistics.median(walls[tag]),
                p95(walls[tag]),
                statistics.median(cpus[tag]),
            )
        result["rss"] = peak_rss_mib()
        rows.append(result)
        b, o = result["baseline"], result["ours"]
        print(
            f"{size:>4} lines  baseline median {b[0] * 1000:7.1f} ms p95 {b[1] * 1000:7.1f} ms "
            f"cpu {b[2] * 1000:7.1f} ms | ours median {o[0] * 1000:7.1f} ms "
            f"p95 {o[1] * 1000:7.1f} ms cpu {o[2] * 1000:7.1f} ms | x{b[0] / o[0]:.2f}",
            flush=True,
        )

    batch = []
    for tag, build in (("ours", ours_build), ("baseline", baseline_build)):
        n = args.batch if tag == "ours" else max(10, args.batch // 10)
        snaps = (make_snapshot(10, seq) for seq in range(1, n + 1))
        s0 = checks.stats["schematron_cpu_seconds"]
        c0, t0 = time.process_time(), time.perf_counter()
        for snapshot in snaps:
            build(snapshot)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0 + checks.stats["schematron_cpu_seconds"] - s0
        batch.append((tag, n, wall, cpu))
        print(
            f"batch {tag}: {n} ten-line invoices in {wall:.1f} s: {n / wall:.1f}/s wall, "
            f"{n / cpu:.1f} per CPU-second",
            flush=True,
        )
    peak = peak_rss_mib()
    child_peak = child_peak_rss_mib()
    print(
        f"peak RSS {peak:.0f} MiB (after warm-up {rss_after_warmup:.0f} MiB), "
        f"Schematron child {child_peak:.0f} MiB"
    )

    if args.out:
        args.out.write_text(
            report(rows, batch, peak, rss_after_warmup, child_peak, args), encoding="utf-8"
        )
        print(f"written {args.out}")
    return 0


def report(rows, batch, peak, rss_warm, child_peak, args) -> str:
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Factur-X benchmark",
        "",
        f"`bench/facturx.py --runs {args.runs} --batch {args.batch}`, one process, "
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"{datetime.date.today():%Y-%m-%d}. Times per Factur-X: XML + PDF/A-3 + embedding + "
        "checks. CPU = CPU time of the process plus, for ours, of the Schematron child process "
        "(it runs while WeasyPrint renders, so our CPU can exceed our wall time).",
        "",
        "| lines | straightforward median / p95 (CPU) | ours median / p95 (CPU) | speed-up |",
        "|---:|---:|---:|---:|",
    ]
    for r in rows:
        b, o = r["baseline"], r["ours"]
        lines.append(
            f"| {r['size']} | {b[0] * 1000:.0f} / {b[1] * 1000:.0f} ms ({b[2] * 1000:.0f}) | "
            f"{o[0] * 1000:.0f} / {o[1] * 1000:.0f} ms ({o[2] * 1000:.0f}) | "
            f"x{b[0] / o[0]:.2f} |"
        )
    lines += ["", "| batch of ten-line invoices | invoices | wall | per second | per CPU-second |",
              "|---|---:|---:|---:|---:|"]  # fmt: skip
    for tag, n, wall, cpu_s in batch:
        name = "ours" if tag == "ours" else "straightforward"
        lines.append(f"| {name} | {n} | {wall:.1f} s | {n / wall:.1f} | {n / cpu_s:.1f} |")
    lines += [
        "",
        f"Peak memory (RSS): {peak:.0f} MiB for the process ({rss_warm:.0f} MiB right after "
        f"warm-up: Django, fonts, WeasyPrint), plus {child_peak:.0f} MiB for the Schematron "
        "child process (SaxonC and the compiled Factur-X stylesheet).",
        "",
        "Throughput per core: the per-CPU-second column (both processes counted) is what "
        "each core adds; run one worker process per core.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
