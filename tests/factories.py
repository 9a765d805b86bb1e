"""factory_boy factories for the invoicing domain (valid French identifiers)."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from invoicing.models import Article, Company, Customer, Dossier, Membership

# Valid, fictitious identifiers (python-stdnum checks them).
SELLER_SIREN = "732829320"
SELLER_SIRET = "73282932000074"
SELLER_VAT = "FR44732829320"
BUYER_SIRET = "11000601200014"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.fr")
    password = factory.django.Password("motdepasse-demo-42")


class DossierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dossier

    name = factory.Sequence(lambda n: f"Dossier {n}")
    facturx_module_enabled = True
    chorus_yearly_allowance = 100


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    dossier = factory.SubFactory(DossierFactory)
    role = Membership.Role.ADMIN


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    dossier = factory.SubFactory(DossierFactory)
    name = factory.Sequence(lambda n: f"Vignobles Démo {n}")
    legal_form = "SAS"
    share_capital = Decimal("10000.00")
    siren = SELLER_SIREN
    siret = SELLER_SIRET
    vat_number = SELLER_VAT
    rcs = "Reims"
    email = "factures@vignobles-demo.fr"
    phone = "03 26 00 00 00"
    iban = "FR7630006000011234567890189"
    bic = "AGRIFRPP"
    address_line1 = "12 rue des Vignes"
    postcode = "51100"
    city = "Reims"
    chorus_login = "TECH_1_OK@cpp2017.fr"
    chorus_password = "MotDePasse-Technique-1"


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    dossier = factory.SubFactory(DossierFactory)
    code = factory.Sequence(lambda n: f"CL{n:04d}")
    kind = Customer.Kind.COMPANY
    name = factory.Sequence(lambda n: f"Mairie de Démoville {n}")
    address_line1 = "1 place de la Mairie"
    postcode = "75001"
    city = "Paris"
    chorus_enabled = True
    siret = BUYER_SIRET


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    dossier = factory.SubFactory(DossierFactory)
    code = factory.Sequence(lambda n: f"ART{n:04d}")
    label = factory.Sequence(lambda n: f"Article {n}")
    unit_price = Decimal("10.0000")
