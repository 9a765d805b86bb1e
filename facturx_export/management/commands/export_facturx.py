"""python manage.py export_facturx (--invoice NUMBER | --all) --out DIR [--company SIRET] [--force]

The directory must exist and be writable, and no file is overwritten without --force: all
of this is checked before the first (slow) build, so a wrong --out fails at once.
"""

import tempfile
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
        parser.add_argument(
            "--force", action="store_true", help="overwrite files already in the directory"
        )

    def handle(
        self, *args, invoice=None, all=False, out: Path, company=None, force=False, **options
    ):
        check_directory(out)
        invoices = Invoice.objects.final().select_related("company", "customer", "credited_invoice")
        if company:
            invoices = invoices.filter(company__siret=company)
        if invoice:
            invoices = invoices.filter(number=invoice)
            if not invoices.exists():
                raise CommandError(f"Aucune facture définitive portant le numéro {invoice}.")
        invoices = list(invoices.order_by("company_id", "issue_date", "number"))
        targets = plan_targets(invoices, out, several=company is None)
        check_targets(targets, out, force=force)
        warm_up()
        written, failed = 0, 0
        for item, target in zip(invoices, targets, strict=True):
            try:
                data = facturx_build(item)
            except FacturxCheckError as exc:
                failed += 1
                self.stderr.write(str(exc))
                continue
            except (ValueError, TypeError) as exc:  # text the XML cannot carry (older data)
                failed += 1
                self.stderr.write(
                    f"{item} : le Factur-X n'a pas pu être créé ({exc}). La facture est "
                    "définitive : corrigez-la par un avoir."
                )
                continue
            write(target, data, force=force, written=written)
            written += 1
            self.stdout.write(str(target))
        self.stdout.write(f"{written} Factur-X écrit(s), {failed} refusé(s).")
        if failed:
            raise CommandError(f"{failed} facture(s) refusée(s) par les contrôles.")


def check_directory(out: Path) -> None:
    """--out is an existing directory we can write into (tried with a temporary file)."""
    try:
        if not out.exists():
            raise CommandError(f"--out {out} : ce dossier n'existe pas (créez-le d'abord).")
        if not out.is_dir():
            raise CommandError(f"--out {out} : c'est un fichier, pas un dossier.")
        with tempfile.NamedTemporaryFile(dir=out, prefix=".chorale-", suffix=".tmp"):
            pass
    except OSError as exc:
        raise CommandError(
            f"--out {out} : impossible d'écrire dans ce dossier ({exc.strerror or exc})."
        ) from exc


def plan_targets(invoices: list[Invoice], out: Path, *, several: bool) -> list[Path]:
    """One file per invoice; the SIRET prefixes the name when several companies are
    exported (numbers are unique per company only)."""
    several = several and len({item.company_id for item in invoices}) > 1
    targets = [
        out / ((f"{item.company.siret}_" if several else "") + facturx_filename(item))
        for item in invoices
    ]
    seen: dict[Path, Invoice] = {}
    for item, target in zip(invoices, targets, strict=True):
        # The file name keeps only A-Z a-z 0-9 . _ - of the number: FA/1 and FA-1 meet.
        if target in seen:
            raise CommandError(
                f"{seen[target]} et {item} donneraient le même fichier {target.name} ; "
                "exportez-les séparément (--invoice) dans deux dossiers."
            )
        seen[target] = item
    return targets


def check_targets(targets: list[Path], out: Path, *, force: bool) -> None:
    taken = [target for target in targets if target.exists() or target.is_symlink()]
    not_files = [target for target in taken if target.is_dir()]
    if not_files:
        raise CommandError(f"{not_files[0]} est un dossier : impossible d'y écrire un Factur-X.")
    if taken and not force:
        shown = ", ".join(target.name for target in taken[:5])
        more = f" et {len(taken) - 5} autre(s)" if len(taken) > 5 else ""
        raise CommandError(
            f"--out {out} : {len(taken)} fichier(s) existe(nt) déjà ({shown}{more}) ; "
            "rien n'a été écrit. Choisissez un autre dossier, ou --force pour les remplacer."
        )


def write(target: Path, data: bytes, *, force: bool, written: int) -> None:
    """Write one Factur-X. Without --force, a file that appeared since the check is not
    replaced either (exclusive creation); a file left half-written is removed."""
    opened = False
    try:
        with open(target, "wb" if force else "xb") as file:
            opened = True
            file.write(data)
    except FileExistsError as exc:
        raise CommandError(
            f"{target} existe déjà (créé pendant l'export) ; {written} Factur-X écrit(s) avant "
            "l'arrêt. Relancez avec --force pour le remplacer."
        ) from exc
    except OSError as exc:
        if opened:
            target.unlink(missing_ok=True)
        raise CommandError(
            f"{target} : écriture impossible ({exc.strerror or exc}) ; {written} Factur-X "
            "écrit(s) avant l'arrêt."
        ) from exc
