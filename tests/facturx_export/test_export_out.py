"""export_facturx --out: checked before any build, never overwrites without --force."""

import datetime
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from invoicing import services
from invoicing.services import LineInput
from tests.factories import CompanyFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def _export(*args: str) -> None:
    call_command("export_facturx", *args)


def test_an_out_that_is_a_file_is_refused(final_invoice, tmp_path):
    out = tmp_path / "export.pdf"
    out.write_bytes(b"kept")

    with pytest.raises(
        CommandError, match=r"--out .*export\.pdf : c'est un fichier, pas un dossier"
    ):
        _export("--all", "--out", str(out))

    assert out.read_bytes() == b"kept"


def test_a_missing_out_folder_is_refused_and_not_created(final_invoice, tmp_path):
    out = tmp_path / "missing" / "export"

    with pytest.raises(CommandError, match="ce dossier n'existe pas \\(créez-le d'abord\\)"):
        _export("--all", "--out", str(out))

    assert not out.parent.exists()


@pytest.fixture
def unwritable(tmp_path) -> Path:
    if os.geteuid() == 0:  # root writes through any mode bits; sysfs refuses it new files
        return Path("/sys")
    out = tmp_path / "read-only"
    out.mkdir(mode=0o500)
    return out


def test_an_unwritable_out_folder_is_refused_before_anything_else(db, unwritable):
    # Checked first: even an unknown number is not looked up.
    with pytest.raises(CommandError, match="impossible d'écrire dans ce dossier"):
        _export("--invoice", "FA1999-00001", "--out", str(unwritable))


def test_an_existing_file_is_never_overwritten(final_invoice, make_invoice, tmp_path):
    second = services.invoice_finalise(
        invoice_id=make_invoice().pk, issue_date=datetime.date(2026, 3, 3)
    )
    taken = tmp_path / f"Facture_{second.number}.pdf"
    taken.write_bytes(b"an earlier export")

    with pytest.raises(CommandError) as caught:
        _export("--all", "--out", str(tmp_path))

    assert str(caught.value) == (
        f"--out {tmp_path} : 1 fichier(s) existe(nt) déjà (Facture_{second.number}.pdf) ; rien "
        "n'a été écrit. Choisissez un autre dossier, ou --force pour les remplacer."
    )
    # Checked before the first build: the other invoice was not written either.
    assert [p.name for p in tmp_path.iterdir()] == [taken.name]
    assert taken.read_bytes() == b"an earlier export"


def test_force_replaces_an_existing_file(final_invoice, tmp_path):
    taken = tmp_path / f"Facture_{final_invoice.number}.pdf"
    taken.write_bytes(b"an earlier export")

    _export("--invoice", final_invoice.number, "--out", str(tmp_path), "--force")

    assert taken.read_bytes().startswith(b"%PDF-")


def test_a_folder_where_the_file_goes_is_refused_even_with_force(final_invoice, tmp_path):
    (tmp_path / f"Facture_{final_invoice.number}.pdf").mkdir()

    with pytest.raises(CommandError, match="est un dossier : impossible d'y écrire un Factur-X"):
        _export("--all", "--out", str(tmp_path), "--force")


def test_two_invoices_that_would_share_a_file_name_are_refused(final_invoice, tmp_path):
    # The same SIRET in two dossiers, each numbering from FA2026-00001: same file name.
    other = CompanyFactory()
    customer = CustomerFactory(dossier=other.dossier)
    twin = services.invoice_create(
        company=other,
        customer=customer,
        lines=[LineInput(label="Conseil", quantity=1, unit_price=100)],
    )
    twin = services.invoice_finalise(invoice_id=twin.pk, issue_date=datetime.date(2026, 3, 2))
    assert twin.number == final_invoice.number

    with pytest.raises(CommandError, match="donneraient le même fichier"):
        _export("--all", "--out", str(tmp_path))

    assert list(tmp_path.iterdir()) == []
