"""The matrix of invoice shapes every Factur-X test and the benchmark draw from."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

from invoicing import services
from invoicing.models import Company, Customer, Invoice, VatCategory
from invoicing.services import LineInput
from tests.factories import CompanyFactory, CustomerFactory, DossierFactory

ISSUE_DATE = datetime.date(2026, 3, 2)
FRANCHISE_REASON = "TVA non applicable, art. 293 B du CGI"


def line(label="Prestation de conseil", qty="1", price="100", rate="20.00", **extra):
    return LineInput(
        label=label,
        quantity=Decimal(qty),
        unit_price=Decimal(price),
        vat_rate=Decimal(rate),
        **extra,
    )


def exempt(label, qty, price, category, reason, unit="C62"):
    return LineInput(
        label=label,
        quantity=Decimal(qty),
        unit_price=Decimal(price),
        unit=unit,
        vat_category=category,
        vat_rate=Decimal("0"),
        exemption_reason=reason,
    )


def ten_lines(n=10):
    rates = ["20.00", "10.00", "5.50"]
    return [
        line(
            f"Article {i} – fourniture de bureau référence {1000 + i}",
            qty=str(1 + i % 7),
            price=f"{12 + i * 3}.{i % 100:02d}",
            rate=rates[i % 3],
            unit="C62",
        )
        for i in range(1, n + 1)
    ]


class World:
    """A dossier with the companies and customers the shapes need."""

    def __init__(self):
        self.dossier = DossierFactory(name="Dossier Factur-X")
        self.company = CompanyFactory(dossier=self.dossier, name="Vignobles Démo SAS")
        self.franchise = CompanyFactory(
            dossier=self.dossier,
            name="Atelier Lémon (EI)",
            legal_form="EI",
            share_capital=None,
            vat_number="",
            vat_regime=Company.VatRegime.FRANCHISE,
            tax_registration_id="1234567890123",
            rcs="",
        )
        self.customer = CustomerFactory(
            dossier=self.dossier,
            name="Mairie de Démoville",
            default_service_code="SERV-TECH-01",
            default_engagement_number="EJ-2026-000123",
        )
        self.plain_customer = CustomerFactory(
            dossier=self.dossier,
            name="Société Cliente SARL",
            chorus_enabled=False,
            vat_number="FR40303265045",
        )
        self.individual = CustomerFactory(
            dossier=self.dossier,
            kind=Customer.Kind.INDIVIDUAL,
            name="Jeanne Dupont",
            chorus_enabled=False,
            siret="",
            email="jeanne.dupont@example.fr",
        )

    def final(self, lines, *, company=None, customer=None, **fields) -> Invoice:
        invoice = services.invoice_create(
            company=company or self.company,
            customer=customer or self.customer,
            lines=lines,
            **fields,
        )
        return services.invoice_finalise(invoice_id=invoice.pk, issue_date=ISSUE_DATE)


def _credit_note(world: World) -> Invoice:
    original = world.final(
        [line("Maintenance annuelle", "1", "1200"), line("Déplacement", "2", "85", "10.00")]
    )
    return world.final(
        services.credit_note_lines(original),
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=original,
    )


def _with_profile(profile):
    def make(world: World) -> Invoice:
        company = CompanyFactory(
            dossier=world.dossier, name=f"Vignobles {profile} SAS", facturx_profile=profile
        )
        return world.final(ten_lines(4), company=company)

    return make


SHAPES: dict[str, Callable[[World], Invoice]] = {
    "one_line": lambda w: w.final([line()]),
    "ten_lines": lambda w: w.final(ten_lines(10)),
    "150_lines_several_pages": lambda w: w.final(ten_lines(150)),
    "three_vat_rates": lambda w: w.final(
        [
            line("Travaux", "3", "250", "20.00"),
            line("Restauration", "12", "18.5", "10.00"),
            line("Livres", "40", "9.99", "5.50"),
        ]
    ),
    "zero_rate_exempt_with_reason": lambda w: w.final(
        [
            line("Formation (hors exonération)", "1", "300"),
            exempt(
                "Formation professionnelle continue",
                "2",
                "800",
                VatCategory.EXEMPT,
                "Exonération de TVA, art. 261-4-4° a du CGI",
            ),
        ]
    ),
    "reverse_charge": lambda w: w.final(
        [
            exempt(
                "Travaux de sous-traitance BTP",
                "1",
                "15000",
                VatCategory.REVERSE_CHARGE,
                "Autoliquidation, art. 283-2 nonies du CGI",
            )
        ],
        customer=w.plain_customer,
    ),
    "credit_note": _credit_note,
    "long_non_ascii_labels": lambda w: w.final(
        [
            line(
                "Œuvre « Cœur de l'été » — édition numérotée n° 3/12, châssis entoilé, "
                "encadrement chêne massif ; livraison à l'Hôtel de Ville, 2ᵉ étage, bureau ½ — "
                "référence ÆØÅ ß ü ñ ç Ελληνικά Кириллица " * 2,
                "1",
                "4200",
            ),
            line("Frais d'expédition (colis spécial, assurance ad valorem 0,5 %)", "1", "65.4"),
        ]
    ),
    "four_decimal_quantities": lambda w: w.final(
        [
            line("Électricité (kWh)", "1234.5678", "0.1825", unit="C62"),
            line("Gazole (litres)", "0.0625", "1.8799", unit="LTR"),
            line("Prestation horaire", "2.3333", "95", unit="HUR"),
        ]
    ),
    "amounts_in_millions": lambda w: w.final(
        [
            line("Construction du groupe scolaire – tranche 1", "1", "2450000"),
            line("Équipements", "350", "8499.99", "20.00"),
        ]
    ),
    "franchise_seller_without_vat_number": lambda w: w.final(
        [
            exempt(
                "Réparation de mobilier", "3", "120", VatCategory.EXEMPT, FRANCHISE_REASON, "HUR"
            ),
            exempt("Fournitures", "1", "45.5", VatCategory.EXEMPT, FRANCHISE_REASON),
        ],
        company=w.franchise,
    ),
    "not_subject_to_vat": lambda w: w.final(
        [
            exempt(
                "Débours : frais de timbre",
                "1",
                "35",
                VatCategory.NOT_SUBJECT,
                "Débours, hors champ de la TVA",
            )
        ],
        company=w.franchise,
    ),
    "export_outside_eu": lambda w: w.final(
        [
            exempt(
                "Machine à vendanger (export)",
                "1",
                "98000",
                VatCategory.EXPORT,
                "Exonération de TVA, art. 262 I du CGI (exportation)",
            )
        ],
        customer=w.plain_customer,
    ),
    "rate_2_1_and_mixed": lambda w: w.final(
        [
            line("Abonnement presse", "12", "4.9", "2.10"),
            line("Conseil", "1", "500"),
            exempt(
                "Formation",
                "1",
                "900",
                VatCategory.EXEMPT,
                "Exonération de TVA, art. 261-4-4° a du CGI",
            ),
        ]
    ),
    "no_service_code_nor_engagement": lambda w: w.final(
        [line("Maintenance", "1", "480")], customer=w.plain_customer
    ),
    "individual_buyer_with_note_and_terms": lambda w: w.final(
        [line("Cours particulier", "10", "35", unit="HUR")],
        customer=w.individual,
        note="Merci de rappeler le numéro de facture lors du règlement.\nBonne journée.",
        payment_terms="Paiement à 30 jours",
        delivery_date=datetime.date(2026, 2, 27),
    ),
    "basic_profile": _with_profile(Company.FacturxProfile.BASIC),
    "extended_profile": _with_profile(Company.FacturxProfile.EXTENDED),
}
