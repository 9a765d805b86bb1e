"""The matrix of invoice shapes every Factur-X test and the benchmark draw from."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal

from invoicing import services
from invoicing.fr_ctc import EXEMPTIONS, ExemptionCode, Nature
from invoicing.models import Company, Customer, Invoice, VatCategory
from invoicing.services import LineInput
from tests.factories import CompanyFactory, CustomerFactory, DossierFactory

ISSUE_DATE = datetime.date(2026, 3, 2)
FRANCHISE_REASON = "TVA non applicable, art. 293 B du CGI"
GOODS = Nature.GOODS
SITE = {  # a delivery address (BG-15) other than the buyer's
    "delivery_name": "Chantier de l'école Jules-Ferry",
    "delivery_address_line1": "14 avenue Jean-Jaurès",
    "delivery_address_line2": "Portail B",
    "delivery_postcode": "69007",
    "delivery_city": "Lyon",
}


def line(label="Prestation de conseil", qty="1", price="100", rate="20.00", **extra):
    return LineInput(
        label=label,
        quantity=Decimal(qty),
        unit_price=Decimal(price),
        vat_rate=Decimal(rate),
        **extra,
    )


def exempt(label, qty, price, category, reason, unit="C62", **extra):
    return LineInput(
        label=label,
        quantity=Decimal(qty),
        unit_price=Decimal(price),
        unit=unit,
        vat_category=category,
        vat_rate=Decimal("0"),
        exemption_reason=reason,
        **extra,
    )


def coded(label, price, code, nature=Nature.SERVICES):
    """An exempt line with a VATEX code (BT-121): its category, and its usual text as the
    reason (BT-120, filled in by the line's validation)."""
    category = EXEMPTIONS[code][0]
    return exempt(label, "1", price, category, "", exemption_code=code, nature=nature)


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
        self.debits_company = CompanyFactory(
            dossier=self.dossier, name="Conseil Débits SARL", vat_on_debits=True
        )
        self.legacy_company = CompanyFactory(
            dossier=self.dossier, name="Vignobles Historique SAS", chorus_legacy_layout=True
        )
        self.german_business = CustomerFactory(
            dossier=self.dossier,
            name="Weinhandel Müller GmbH",
            chorus_enabled=False,
            siret="",
            vat_number="DE136695976",
            email="rechnungen@weinhandel-mueller.example",
            address_line1="Hauptstraße 12",
            postcode="10115",
            city="Berlin",
            country_code="DE",
        )
        self.swiss_business = CustomerFactory(
            dossier=self.dossier,
            name="Cave des Alpes SA",
            chorus_enabled=False,
            siret="",
            email="factures@cave-des-alpes.example",
            address_line1="Rue du Rhône 4",
            postcode="1204",
            city="Genève",
            country_code="CH",
        )
        self.belgian_individual = CustomerFactory(
            dossier=self.dossier,
            kind=Customer.Kind.INDIVIDUAL,
            name="Lotte Janssens",
            chorus_enabled=False,
            siret="",
            email="lotte.janssens@example.be",
            address_line1="Rue Royale 10",
            postcode="1000",
            city="Bruxelles",
            country_code="BE",
        )
        self.craftsman = CustomerFactory(  # a SIREN, no SIRET
            dossier=self.dossier,
            kind=Customer.Kind.SOLE_PROPRIETORSHIP,
            name="Menuiserie Dubois (EI)",
            chorus_enabled=False,
            siret="",
            siren="443061841",
            address_line1="3 rue des Artisans",
            postcode="21000",
            city="Dijon",
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


def _credit_note_of_goods(world: World) -> Invoice:
    original = world.final(
        [line("Tonneau de chêne 225 l", "4", "890", nature=GOODS)],
        customer=world.plain_customer,
        delivery_address=SITE,
    )
    return world.final(
        services.credit_note_lines(original, {original.lines.get().pk: Decimal("1")}),
        kind=Invoice.Kind.CREDIT_NOTE,
        credited_invoice=original,
        customer=world.plain_customer,
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
    # The French 2026 invoice (BR-FR): category of the operation (BT-23), buyer treatment
    # (BAR / ADN), delivery address, VAT on debits, one shape per VATEX code.
    "goods_only_b2b": lambda w: w.final(
        [
            line("Bouteilles de champagne brut", "120", "24.5", nature=GOODS, unit="C62"),
            line("Caisses bois gravées", "20", "12", nature=GOODS),
        ],
        customer=w.plain_customer,
    ),
    "mixed_goods_and_services": lambda w: w.final(
        [
            line("Pressoir pneumatique", "1", "18500", nature=GOODS),
            line("Installation et mise en service", "12", "85", unit="HUR"),
        ],
        customer=w.plain_customer,
    ),
    "delivery_address": lambda w: w.final(
        [line("Mobilier scolaire", "30", "149", nature=GOODS)],
        customer=w.plain_customer,
        delivery_address=SITE,
        delivery_date=datetime.date(2026, 2, 26),
    ),
    "vat_on_debits": lambda w: w.final(
        [
            line("Audit de la chaîne logistique", "5", "950", unit="DAY"),
            line("Formation des équipes", "2", "1200", "20.00", unit="DAY"),
        ],
        company=w.debits_company,
        customer=w.plain_customer,
    ),
    "vatex_franchise": lambda w: w.final(
        [coded("Réparation d'une chaise ancienne", "180", ExemptionCode.FRANCHISE)],
        company=w.franchise,
        customer=w.individual,
    ),
    "vatex_cgi_261_4": lambda w: w.final(
        [coded("Formation professionnelle continue (3 jours)", "2100", ExemptionCode.EXEMPT_261)]
    ),
    "vatex_eu_132": lambda w: w.final(
        [coded("Soins dispensés (art. 132 directive)", "640", ExemptionCode.EXEMPT_EU)],
        customer=w.plain_customer,
    ),
    "vatex_fr_reverse_charge_construction": lambda w: w.final(
        [coded("Gros œuvre en sous-traitance", "42000", ExemptionCode.REVERSE_CHARGE_FR)],
        customer=w.plain_customer,
    ),
    "vatex_eu_reverse_charge_services": lambda w: w.final(
        [
            coded(
                "Conseil en viticulture (mission à Berlin)", "7200", ExemptionCode.REVERSE_CHARGE_EU
            )
        ],
        customer=w.german_business,
    ),
    "vatex_intra_eu_supply": lambda w: w.final(
        [coded("Cuve inox 50 hl", "12400", ExemptionCode.INTRA_EU, GOODS)],
        customer=w.german_business,
        delivery_address={
            "delivery_name": "Weinhandel Müller GmbH – Lager",
            "delivery_address_line1": "Lagerstraße 7",
            "delivery_postcode": "14469",
            "delivery_city": "Potsdam",
            "delivery_country_code": "DE",
        },
        delivery_date=datetime.date(2026, 2, 20),
    ),
    "vatex_export": lambda w: w.final(
        [coded("Vin rouge, 600 bouteilles (export)", "5400", ExemptionCode.EXPORT, GOODS)],
        customer=w.swiss_business,
    ),
    "vatex_out_of_scope": lambda w: w.final(
        [coded("Refacturation de frais de greffe", "45", ExemptionCode.OUT_OF_SCOPE)],
        company=w.franchise,
    ),
    "already_paid_goods": lambda w: w.final(
        [line("Coffret dégustation", "3", "79", nature=GOODS)],
        customer=w.individual,
        already_paid=True,
    ),
    "already_paid_services": lambda w: w.final(
        [line("Visite guidée des caves", "4", "25", "10.00")],
        customer=w.plain_customer,
        already_paid=True,
    ),
    "already_paid_mixed": lambda w: w.final(
        [
            line("Magnum millésimé", "2", "95", nature=GOODS),
            line("Gravure personnalisée", "2", "15"),
        ],
        customer=w.craftsman,
        already_paid=True,
    ),
    "credit_note_of_goods_b2b": _credit_note_of_goods,
    "public_buyer_b2g": lambda w: w.final(
        [
            line("Fournitures scolaires", "200", "3.45", "20.00", nature=GOODS),
            line("Livraison et installation", "1", "150"),
        ],
        delivery_address=SITE,
        delivery_date=datetime.date(2026, 2, 27),
    ),
    "foreign_business_buyer": lambda w: w.final(
        [line("Champagne rosé, enlèvement à Reims", "60", "31", nature=GOODS)],
        customer=w.german_business,
    ),
    "individual_abroad": lambda w: w.final(
        [line("Atelier d'œnologie en ligne", "1", "120")],
        customer=w.belgian_individual,
    ),
    "buyer_with_siren_only": lambda w: w.final(
        [line("Planches de chêne", "15", "42", nature=GOODS)],
        customer=w.craftsman,
    ),
    "legacy_chorus_layout": lambda w: w.final(
        [line("Maintenance du parc informatique", "1", "1500")],
        company=w.legacy_company,
    ),
}
# Shapes in the legacy Chorus Pro layout, which fails the French rules by design.
LEGACY_SHAPES = {"legacy_chorus_layout"}
