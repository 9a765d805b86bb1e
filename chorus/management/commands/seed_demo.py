"""`python manage.py seed_demo`: a demo dossier wired to the local Chorus Pro sandbox.

Idempotent: running it again changes nothing that exists and adds what is missing.
"""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from chorus.sandbox import seed
from invoicing import services
from invoicing.fr_ctc import ExemptionCode, Nature, exemption_text
from invoicing.models import Article, Company, Customer, Dossier, Invoice, Membership, VatCategory

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "chorale-demo"


def _account(scenario: str):
    return next(a for a in seed.ACCOUNTS if a.scenario == scenario)


COMPANIES = [
    {
        "name": "Chorale Démo SARL",
        "siren": seed.SUPPLIER_SIRET[:9],
        "siret": seed.SUPPLIER_SIRET,
        "vat_number": "FR31841234511",
        "account": "ok",
        "city": "Reims",
    },
    {
        "name": "Atelier sans gestionnaire SAS",
        "siren": seed.SUPPLIER_NO_GP_SIRET[:9],
        "siret": seed.SUPPLIER_NO_GP_SIRET,
        "vat_number": "",
        "account": "gp_not_found",
        "city": "Épernay",
    },
]

GOODS, SERVICES = Nature.GOODS, Nature.SERVICES
ARTICLES = [  # code, label, unit, price, VAT category, rate, exemption code, nature
    ("CONSEIL-J", "Journée de conseil", "DAY", "650.0000", "S", "20.00", "", SERVICES),
    ("FORM-H", "Heure de formation", "HUR", "85.0000", "S", "20.00", "", SERVICES),
    ("LIVRE-TECH", "Ouvrage technique", "C62", "39.9000", "S", "5.50", "", GOODS),
    ("MAINT-M", "Maintenance mensuelle", "MON", "240.0000", "S", "10.00", "", SERVICES),
    (
        "FORM-PRO",
        "Formation professionnelle continue",
        "HUR",
        "95.0000",
        "E",
        "0.00",
        ExemptionCode.EXEMPT_261,
        SERVICES,
    ),
]


class Command(BaseCommand):
    help = "Create (or complete) the demo dossier, wired to the local Chorus Pro sandbox."

    @transaction.atomic
    def handle(self, *args, **options):
        dossier, _ = Dossier.objects.get_or_create(
            name="Dossier de démonstration",
            defaults={"facturx_module_enabled": True, "chorus_yearly_allowance": 50},
        )
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USERNAME).first()
        if user is None:
            user = user_model.objects.create_user(
                DEMO_USERNAME,
                "demo@chorale.example",
                DEMO_PASSWORD,
                is_staff=True,
                is_superuser=True,
            )
        Membership.objects.get_or_create(
            user=user, dossier=dossier, defaults={"role": Membership.Role.ADMIN}
        )
        companies = [self._company(dossier, spec) for spec in COMPANIES]
        customers = self._customers(dossier)
        articles = self._articles(dossier)
        main = companies[0]
        if not Invoice.objects.filter(company=main).exists():
            for customer, picks in [
                (customers[seed.BUYER_NONE], [(0, "2"), (2, "3")]),
                (customers[seed.BUYER_SERVICE], [(1, "7.5")]),
                (customers[seed.BUYER_ENGAGEMENT], [(3, "12"), (4, "14")]),
                (customers[seed.BUYER_INACTIVE], [(0, "1")]),
            ]:
                services.invoice_create(
                    company=main,
                    customer=customer,
                    lines=[services.line_from_article(articles[i], Decimal(q)) for i, q in picks],
                )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready. Log in as '{DEMO_USERNAME}' with password '{DEMO_PASSWORD}'."
            )
        )

    def _company(self, dossier: Dossier, spec: dict) -> Company:
        account = _account(spec["account"])
        company = Company.objects.filter(dossier=dossier, siret=spec["siret"]).first()
        if company:
            return company
        return Company.objects.create(
            dossier=dossier,
            name=spec["name"],
            legal_form="SARL",
            share_capital=Decimal("20000.00"),
            siren=spec["siren"],
            siret=spec["siret"],
            vat_number=spec["vat_number"],
            tax_registration_id="" if spec["vat_number"] else spec["siren"],
            vat_regime=Company.VatRegime.NORMAL
            if spec["vat_number"]
            else Company.VatRegime.FRANCHISE,
            rcs=spec["city"],
            email="factures@chorale.example",
            iban="FR7630006000011234567890189",
            bic="AGRIFRPP",
            address_line1="12 rue des Vignes",
            postcode="51100",
            city=spec["city"],
            chorus_login=account.login,
            chorus_password=account.password,
        )

    def _customers(self, dossier: Dossier) -> dict[str, Customer]:
        result = {}
        for n, structure in enumerate(s for s in seed.STRUCTURES if s.public):
            customer, _ = Customer.objects.get_or_create(
                dossier=dossier,
                code=f"PUB{n + 1:02d}",
                defaults={
                    "kind": Customer.Kind.COMPANY,
                    "name": structure.name,
                    "address_line1": "1 place de la République",
                    "postcode": "75001",
                    "city": "Paris",
                    "chorus_enabled": True,
                    "siret": structure.siret,
                },
            )
            result[structure.siret] = customer
        Customer.objects.get_or_create(
            dossier=dossier,
            code="PART01",
            defaults={
                "kind": Customer.Kind.INDIVIDUAL,
                "name": "Mme Camille Martin",
                "address_line1": "3 rue des Lilas",
                "postcode": "69003",
                "city": "Lyon",
                "email": "camille.martin@example.fr",  # BT-49 of a buyer without SIREN
            },
        )
        Customer.objects.get_or_create(
            dossier=dossier,
            code="ENT01",
            defaults={
                "kind": Customer.Kind.COMPANY,
                "name": "Librairie du Centre SARL",
                "siren": "552081317",
                "vat_number": "FR24552081317",
                "address_line1": "8 rue Gambetta",
                "postcode": "51100",
                "city": "Reims",
                "delivery_name": "Entrepôt de Tinqueux",
                "delivery_address_line1": "ZA des Naux, 2 allée Gustave Eiffel",
                "delivery_postcode": "51430",
                "delivery_city": "Tinqueux",
                "delivery_country_code": "FR",
            },
        )
        return result

    def _articles(self, dossier: Dossier) -> list[Article]:
        articles = []
        for code, label, unit, price, category, rate, exemption_code, nature in ARTICLES:
            article, _ = Article.objects.get_or_create(
                dossier=dossier,
                code=code,
                defaults={
                    "label": label,
                    "unit": unit,
                    "unit_price": Decimal(price),
                    "vat_category": VatCategory(category),
                    "vat_rate": Decimal(rate),
                    "exemption_code": exemption_code,
                    "exemption_reason": exemption_text(exemption_code),
                    "nature": nature,
                },
            )
            articles.append(article)
        return articles
