"""Every response carries the Content-Security-Policy, and the templates give it nothing
to block: no inline script, no inline style, no event-handler attribute."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from settings.middleware import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/connexion/", "/admin/login/", "/page-inconnue/", "/compte/mot-de-passe/"]
)
def test_anonymous_pages_carry_the_policy(client, path):
    response = client.get(path)
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_signed_in_pages_json_and_csv_carry_the_policy(logged, tenant):
    for response in (
        logged.get(reverse("home")),
        logged.get(reverse("invoice_list")),
        logged.get(reverse("invoice_detail", args=[tenant.provisional.pk])),
        logged.get(reverse("article_lookup"), {"code": "VIN75"}),
        logged.get(reverse("chorus:submission_list"), {"format": "csv"}),
        logged.post(reverse("logout")),
    ):
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_in_debug_mode_djangos_technical_pages_keep_their_inline_style(client, settings):
    settings.DEBUG = True
    assert "Content-Security-Policy" not in client.get("/page-inconnue/")
    assert client.get("/connexion/")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_the_policy_allows_only_our_own_origin():
    policy = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I),  # inline script
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle=", re.I),
    re.compile(r"\son[a-z]+=", re.I),  # onclick=, onchange=...
    re.compile(r"javascript:", re.I),
]


def test_no_template_of_the_site_has_inline_script_or_style():
    # The invoice PDF's own templates are for WeasyPrint, never a browser.
    for_weasyprint = {"facturx_export/invoice.html", "facturx_export/letterhead.html"}
    root = Path(settings.BASE_DIR, "templates")
    templates = [
        path
        for path in root.rglob("*.html")
        if path.relative_to(root).as_posix() not in for_weasyprint
    ]
    assert templates
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {match.group(0)}"
        for path in templates
        for pattern in INLINE
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
