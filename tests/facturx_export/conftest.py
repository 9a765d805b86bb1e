"""The invoice matrix, built once per session, and one validator run over all its files."""

import fcntl
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import transaction

from facturx_export.services import facturx_build
from facturx_export.snapshot import Flavour, InvoiceSnapshot, snapshot_from_invoice
from facturx_export.xml import build_xml
from tests.facturx_export.shapes import SHAPES, World

# Shapes also built in the legacy Chorus Pro layout, for the plain EN 16931 check.
LEGACY_BUILDS = ["one_line", "credit_note", "franchise_seller_without_vat_number",
                 "reverse_charge", "basic_profile", "delivery_address", "vat_on_debits",
                 "already_paid_mixed", "vatex_intra_eu_supply"]  # fmt: skip

# The offline EN 16931 validator lives in shared/ beside the checkout (FACTURX_VALIDATOR
# overrides): it is the judge of every file we produce, so its absence fails the tests.
VALIDATOR = Path(
    os.environ.get(
        "FACTURX_VALIDATOR",
        Path(__file__).resolve().parents[3] / "shared" / "validators" / "validate",
    )
)


@dataclass
class Built:
    name: str
    snapshot: InvoiceSnapshot  # as the default build reads it
    xml: bytes
    pdf: Path  # the default file: what the download, the export and a sending make
    legacy_xml: bytes = b""  # the legacy Chorus Pro layout (LEGACY_BUILDS only)
    legacy_pdf: Path | None = None


@pytest.fixture(scope="session")
def matrix(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, Built]:
    """Every shape as its default Factur-X, and a few also in the legacy layout.

    Built inside a transaction that is rolled back: the rows do not leak into other tests.
    """
    out = tmp_path_factory.mktemp("facturx")
    (out / "default").mkdir()
    (out / "legacy").mkdir()
    built = {}
    with django_db_blocker.unblock(), transaction.atomic():
        world = World()
        for name, make in SHAPES.items():
            invoice = make(world)
            snapshot = snapshot_from_invoice(invoice)
            item = Built(name, snapshot, build_xml(snapshot), out / "default" / f"{name}.pdf")
            item.pdf.write_bytes(facturx_build(invoice))
            if name in LEGACY_BUILDS:
                legacy = snapshot_from_invoice(invoice, flavour=Flavour.CHORUS)
                item.legacy_xml = build_xml(legacy)
                item.legacy_pdf = out / "legacy" / f"{name}.pdf"
                item.legacy_pdf.write_bytes(facturx_build(invoice, flavour=Flavour.CHORUS))
            built[name] = item
        transaction.set_rollback(True)
    return built


def _validate(files: list[Path], *extra: str) -> dict[str, dict]:
    assert VALIDATOR.exists(), f"validator not found at {VALIDATOR} (set FACTURX_VALIDATOR)"
    report = files[0].parent / "validator.json"
    # Its first run creates its virtualenv: test processes running it at once would each
    # delete and recreate it under the other, so they take turns.
    with open(Path(tempfile.gettempdir()) / "chorale-validator.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        completed = subprocess.run(
            [str(VALIDATOR), "-q", *extra, "--json", str(report), *map(str, files)],
            capture_output=True,
            text=True,
            timeout=900,
        )
    if completed.returncode == 2 or not report.exists():
        pytest.fail(f"validator could not run:\n{completed.stdout}\n{completed.stderr}")
    results = json.loads(report.read_text())["results"]
    return {Path(result["path"]).stem: result for result in results}


@pytest.fixture(scope="session")
def validation(matrix) -> dict[str, dict]:
    """One validator call, with the French 2026 rules, for every default file."""
    return _validate([item.pdf for item in matrix.values()], "--fr-ctc")


@pytest.fixture(scope="session")
def validation_legacy(matrix) -> dict[str, dict]:
    """One plain (EN 16931, Factur-X) validator call for the legacy-layout files."""
    return _validate([item.legacy_pdf for item in matrix.values() if item.legacy_pdf])
