"""Extreme dates in the submission list's filter answer normally, never with a 500."""

import pytest
from django.urls import reverse

from chorus.models import Submission

pytestmark = pytest.mark.django_db

EXTREMES = [
    {"date_to": "9999-12-31"},
    {"date_from": "0001-01-01"},
    {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    {"date_from": "9999-12-31"},
    {"date_to": "0001-01-01"},
]


@pytest.fixture
def web(client, admin_member):
    client.force_login(admin_member.user)
    return client


@pytest.fixture
def submission(make_invoice):
    invoice = make_invoice()
    return Submission.objects.create(
        dossier=invoice.dossier,
        company=invoice.company,
        invoice=invoice,
        siret=invoice.customer.siret,
        status=Submission.Status.QUEUED,
    )


@pytest.mark.parametrize("query", EXTREMES)
@pytest.mark.parametrize("fmt", ["", "csv"])
def test_the_submission_list_answers_extreme_dates(web, submission, query, fmt):
    response = web.get(reverse("chorus:submission_list"), {**query, "format": fmt})
    assert response.status_code == 200


def test_the_widest_period_still_lists_every_submission(web, submission):
    response = web.get(
        reverse("chorus:submission_list"), {"date_from": "0001-01-01", "date_to": "9999-12-31"}
    )
    assert response.context["rows"] == [submission]
