"""What text may go on an invoice: characters XML 1.0 can carry and the PDF can draw.

Every text field that reaches the Factur-X runs `validate_invoice_text` (forms, admin and
import all go through the models' validators), so a character that would break the XML or
print as an empty box is refused at entry, named, instead of freezing an unsendable invoice.
Which characters the PDF can draw is the export's knowledge (its fonts): it registers a
function here (`register_glyph_coverage`), as this app imports no other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Not allowed in an XML 1.0 document (§2.2): C0 controls but tab, LF and CR; surrogates;
# U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_undrawable: Callable[[str], list[str]] | None = None


def register_glyph_coverage(undrawable: Callable[[str], list[str]]) -> None:
    """`undrawable(text)` lists the characters of `text` that no invoice font can draw."""
    global _undrawable
    _undrawable = undrawable


def describe(char: str) -> str:
    """« U+0001 » or « « 東 » (U+6771) »: a character named so that a user can find it."""
    code = f"U+{ord(char):04X}"
    if unicodedata.category(char)[0] in "CZ":  # invisible: its code only
        return code
    return f"« {char} » ({code})"


def not_xml_characters(value: str) -> list[str]:
    return list(dict.fromkeys(_NOT_XML.findall(value)))


def undrawable_characters(value: str) -> list[str]:
    return _undrawable(value) if _undrawable and value else []


def text_problems(value: str) -> list[str]:
    """Why `value` cannot go on an invoice, in French (empty when it can)."""
    if not value:
        return []
    problems = []
    bad = not_xml_characters(value)
    if bad:
        problems.append(
            _("caractère(s) de contrôle interdit(s) dans une facture électronique : %(chars)s")
            % {"chars": ", ".join(describe(c) for c in bad)}
        )
    missing = undrawable_characters(value)
    if missing:
        problems.append(
            _("caractère(s) qu'aucune police de la facture PDF ne sait dessiner : %(chars)s")
            % {"chars": ", ".join(describe(c) for c in missing[:10])}
        )
    return problems


def validate_invoice_text(value) -> None:
    problems = text_problems(value if isinstance(value, str) else str(value))
    if problems:
        raise ValidationError(
            _("Texte refusé : %(why)s.") % {"why": " ; ".join(problems)}, code="invoice_text"
        )
