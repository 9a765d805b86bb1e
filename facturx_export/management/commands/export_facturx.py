"""python manage.py export_facturx (--invoice NUMBER | --all) --out DIR [--company SIRET]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from facturx_export.checks import FacturxCheckError, warm_up
from facturx_export.services import facturx_build, facturx_filename
from invoicing.models import Invoice


class Command(BaseCommand):
    help = "Write the Factur-X (PDF/A-3 + factur-x.xml) of final invoices into a directory."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--invoice", metavar="NUMBER", help="number of one final invoice")
        which.add_argument("--all", action="store_true", help="every final invoice")
        parser.add_argument("--out", required=True, type=Path, metavar="DIR")
        parser.add_argument("--company", metavar="SIRET", help="only this company's invoices")

    def handle(self, *args, invoice=None, all=False, out: Path, company=None, **options):
        invoices = Invoice.objects.final().select_related("company", "customer", "credited_invoice")
        if company:
            invoices = invoices.filter(company__siret=company)
        if invoice:
            invoices = invoices.filter(number=invoice)
            if not invoices.exists():
                raise CommandError(f"Aucune facture définitive portant le numéro {invoice}.")
        invoices = invoices.order_by("company_id", "issue_date", "number")
        out.mkdir(parents=True, exist_ok=True)
        warm_up()
        several = company is None and len(set(invoices.values_list("company_id", flat=True))) > 1
        written, failed = 0, 0
        for item in invoices.iterator():
            try:
                data = facturx_build(item)
            except FacturxCheckError as exc:
                failed += 1
                self.stderr.write(str(exc))
                continue
            target = out / facturx_filename(item)
            if several:  # numbers are unique per company only
                target = out / f"{item.company.siret}_{facturx_filename(item)}"
            target.write_bytes(data)
            written += 1
            self.stdout.write(str(target))
        self.stdout.write(f"{written} Factur-X écrit(s), {failed} refusé(s).")
        if failed:
            raise CommandError(f"{failed} facture(s) refusée(s) par les contrôles.")
