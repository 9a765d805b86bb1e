"""French by default, English on request, and a complete English catalogue."""

import ast
import gettext
import re

import pytest
from django.conf import settings
from django.urls import reverse

PO_FILE = settings.BASE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|\{[^{}]*\}")


def read_po(path):
    """Entries of a .po file as dicts: flags, msgid, msgid_plural, msgstr (list)."""
    entries, entry, key = [], None, None

    def flush():
        if entry is not None and "msgid" in entry:
            entries.append(entry)

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if entry is None or "msgid" in entry:
                flush()
                entry, key = {"flags": set(), "msgstr": {}}, None
            if line.startswith("#,"):
                entry["flags"].update(f.strip() for f in line[2:].split(","))
            continue
        if line.startswith('"'):
            value = ast.literal_eval(line)
            if isinstance(key, int):
                entry["msgstr"][key] += value
            else:
                entry[key] += value
            continue
        word, _, rest = line.partition(" ")
        if word == "msgid" and (entry is None or "msgid" in entry):
            flush()
            entry = {"flags": set(), "msgstr": {}}
        value = ast.literal_eval(rest)
        match = re.fullmatch(r"msgstr\[(\d+)\]", word)
        if match:
            key = int(match.group(1))
            entry["msgstr"][key] = value
        elif word == "msgstr":
            key = 0
            entry["msgstr"][0] = value
        else:
            key = word
            entry[key] = value
    flush()
    return [e for e in entries if e["msgid"]]  # the header has an empty msgid


@pytest.fixture(scope="module")
def catalogue():
    return read_po(PO_FILE)


def test_the_catalogue_is_complete_without_fuzzy_entries(catalogue):
    assert len(catalogue) > 400
    fuzzy = [e["msgid"] for e in catalogue if "fuzzy" in e["flags"]]
    untranslated = [e["msgid"] for e in catalogue if not all(e["msgstr"].values())]
    plural_gaps = [e["msgid"] for e in catalogue if "msgid_plural" in e and len(e["msgstr"]) < 2]
    assert fuzzy == [] and untranslated == [] and plural_gaps == []
    assert "fuzzy" not in PO_FILE.read_text(encoding="utf-8").split('msgid ""', 1)[0]


def test_every_translation_keeps_the_placeholders(catalogue):
    for e in catalogue:
        expected = set(PLACEHOLDER.findall(e["msgid"])) | set(
            PLACEHOLDER.findall(e.get("msgid_plural", ""))
        )
        for msgstr in e["msgstr"].values():
            assert set(PLACEHOLDER.findall(msgstr)) == expected, e["msgid"]


def test_the_compiled_catalogue_matches_the_po_file(catalogue):
    with PO_FILE.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for e in catalogue:
        if "msgid_plural" in e:
            assert compiled.ngettext(e["msgid"], e["msgid_plural"], 1) == e["msgstr"][0]
            assert compiled.ngettext(e["msgid"], e["msgid_plural"], 2) == e["msgstr"][1]
        else:
            assert compiled.gettext(e["msgid"]) == e["msgstr"][0], e["msgid"]


def test_the_login_page_is_french_by_default(client, db):
    body = client.get(reverse("login")).content.decode()
    assert '<html lang="fr">' in body
    assert "Se connecter" in body and "Log in" not in body


def test_the_login_page_follows_accept_language(client, db):
    body = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="en">' in body
    assert "Log in" in body and "Invoice entry and sending to Chorus Pro." in body
    assert "Se connecter" not in body


def test_the_invoice_list_is_french_by_default(logged, tenant):
    body = client_get(logged, "invoice_list")
    assert "Factures et avoirs" in body and "Invoices and credit notes" not in body


def test_the_invoice_list_follows_the_language_cookie(logged, tenant):
    logged.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client_get(logged, "invoice_list")
    assert "Invoices and credit notes" in body and "Filter invoices" in body
    assert "Factures et avoirs" not in body


def test_the_language_switch_sets_the_cookie(logged, tenant):
    body = client_get(logged, "invoice_list")
    assert f'action="{reverse("set_language")}"' in body and 'for="switch-language"' in body
    response = logged.post(
        reverse("set_language"), {"language": "en", "next": reverse("invoice_list")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("invoice_list")
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Invoices and credit notes" in client_get(logged, "invoice_list")


def client_get(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()
