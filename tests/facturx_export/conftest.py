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
    snapshot: InvoiceSnapshot
    xml: bytes
    pdf: Path
    pdf_fr_ctc: Path


@pytest.fixture(scope="session")
def matrix(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, Built]:
    """Every shape as a Factur-X (Chorus Pro conventions) and as a French-CTC variant.

    Built inside a transaction that is rolled back: the rows do not leak into other tests.
    """
    out = tmp_path_factory.mktemp("facturx")
    built = {}
    with django_db_blocker.unblock(), transaction.atomic():
        world = World()
        for name, make in SHAPES.items():
            invoice = make(world)
            snapshot = snapshot_from_invoice(invoice)
            pdf = out / "chorus" / f"{name}.pdf"
            pdf_fr = out / "fr-ctc" / f"{name}.pdf"
            pdf.parent.mkdir(exist_ok=True)
            pdf_fr.parent.mkdir(exist_ok=True)
            pdf.write_bytes(facturx_build(invoice))
            pdf_fr.write_bytes(facturx_build(invoice, flavour=Flavour.FR_CTC))
            built[name] = Built(name, snapshot, build_xml(snapshot), pdf, pdf_fr)
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
    """One validator call for every Chorus-convention file of the matrix."""
    return _validate([item.pdf for item in matrix.values()])


@pytest.fixture(scope="session")
def validation_fr_ctc(matrix) -> dict[str, dict]:
    """One validator call, with the French 2026 rules, for the French-CTC variants."""
    return _validate([item.pdf_fr_ctc for item in matrix.values()], "--fr-ctc")
