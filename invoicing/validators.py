"""Field validators with French messages (identifiers through python-stdnum)."""

import re
from collections import deque
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum import iban as stdnum_iban
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret
from stdnum.fr import tva as stdnum_tva


def validate_siren(value: str) -> None:
    try:
        stdnum_siren.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("« %(value)s » n'est pas un SIREN valide (9 chiffres, clé de contrôle correcte)."),
            params={"value": value},
            code="invalid_siren",
        ) from exc


def validate_siret(value: str) -> None:
    # python-stdnum knows the La Poste exception (SIREN 356000000: digit sum multiple of 5).
    try:
        stdnum_siret.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("« %(value)s » n'est pas un SIRET valide (14 chiffres, clé de contrôle correcte)."),
            params={"value": value},
            code="invalid_siret",
        ) from exc


def validate_fr_vat(value: str) -> None:
    try:
        stdnum_tva.validate(value)
        # Stored as printed and sent (BT-31 needs the country prefix, BR-CO-9): "FR" then
        # the 11 characters, no spaces; python-stdnum alone also accepts "44 732829320".
        if value != "FR" + stdnum_tva.compact(value):
            raise StdnumError()
    except StdnumError as exc:
        raise ValidationError(
            _("« %(value)s » n'est pas un numéro de TVA français valide (FR + clé + SIREN)."),
            params={"value": value},
            code="invalid_vat",
        ) from exc


def validate_iban(value: str) -> None:
    try:
        stdnum_iban.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            _("« %(value)s » n'est pas un IBAN valide."),
            params={"value": value},
            code="invalid_iban",
        ) from exc


def validate_non_negative(value: Decimal) -> None:
    if value is not None and value < 0:
        raise ValidationError(_("Le montant ne peut pas être négatif."), code="negative")


# BR-FR-01 / BR-FR-02: an invoice number (BT-1) has at most 35 characters, all from
# A-Z a-z 0-9 + - _ /. A pattern is checked against the longest number it can produce: year
# 9999 and the counter's largest value (a PositiveIntegerField: 10 digits on PostgreSQL),
# whatever the padding width.
NUMBER_MAX_LENGTH = 35
NUMBER_MAX_DIGITS = 10
_NUMBER_CHARACTER = re.compile(r"[A-Za-z0-9+\-_/]")
_PATTERN_PARTS = re.compile(r"\{[^{}]*\}|[{}]|[^{}]+")
_PADDED_NUMBER = re.compile(r"\{number:0([1-9]|10)d\}")
_DIGITS = frozenset("0123456789")
_NON_ZERO = frozenset("123456789")

# What a pattern can produce: per position, the possible characters and whether the
# position may be left out (the digits of {number} beyond its width).
Slot = tuple[frozenset[str], bool]


def _pattern_error(message: str, part: str, code: str) -> ValidationError:
    return ValidationError(message, params={"part": part}, code=code)


def _placeholder_slots(part: str) -> list[Slot]:
    if part == "{year}":
        return [(_NON_ZERO, False)] + [(_DIGITS, False)] * 3
    if part == "{number}":  # the counter starts at 1: no leading zero
        return [(_NON_ZERO, False)] + [(_DIGITS, True)] * (NUMBER_MAX_DIGITS - 1)
    padded = _PADDED_NUMBER.fullmatch(part)
    if padded and 1 <= int(padded[1]) <= NUMBER_MAX_DIGITS:
        width = int(padded[1])
        return [(_DIGITS, False)] * width + [(_DIGITS, True)] * (NUMBER_MAX_DIGITS - width)
    if part.startswith("{number"):
        raise _pattern_error(
            _(
                "« %(part)s » n'est pas permis : le numéro s'écrit {number}, ou complété de "
                "zéros sur 1 à 10 chiffres comme {number:05d}."
            ),
            part,
            "pattern_number_format",
        )
    raise _pattern_error(
        _(
            "« %(part)s » n'est pas permis : seules les variables {year} et {number} le sont "
            "(par exemple FA{year}-{number:05d})."
        ),
        part,
        "pattern_variable",
    )


def number_pattern_slots(value: str) -> list[Slot]:
    """Check a number pattern (BR-FR-01/02) and return what it can produce. Raises a
    ValidationError naming the offending part.

    Only {year}, {number} and {number:0Nd} (N ≤ 10) pass, each at most once, so
    `pattern.format(year=..., number=...)` (services.format_number) cannot raise.
    """
    slots: list[Slot] = []
    seen: set[str] = set()
    for part in _PATTERN_PARTS.findall(value):
        if part in ("{", "}"):
            raise _pattern_error(
                _(
                    "Accolade « %(part)s » isolée : les accolades ne servent qu'à {year} et "
                    "{number}."
                ),
                part,
                "pattern_brace",
            )
        if part.startswith("{"):
            slots.extend(_placeholder_slots(part))
            name = "{number}" if part.startswith("{number") else part
            if name in seen:
                raise _pattern_error(
                    _("« %(part)s » figure deux fois dans le modèle : une seule fois permise."),
                    name,
                    "pattern_repeated",
                )
            seen.add(name)
            continue
        for char in part:
            if not _NUMBER_CHARACTER.fullmatch(char):
                shown = char if char.isprintable() and not char.isspace() else f"U+{ord(char):04X}"
                raise _pattern_error(
                    _(
                        "Caractère « %(part)s » interdit : un numéro de facture ne contient que "
                        "des lettres sans accent, des chiffres et + - _ / (BR-FR-02)."
                    ),
                    shown,
                    "pattern_character",
                )
        slots.extend((frozenset(char), False) for char in part)
    if "{number}" not in seen:
        raise ValidationError(
            _("Le modèle doit contenir {number}, par exemple FA{year}-{number:05d}."),
            code="pattern_without_number",
        )
    longest = value.format(year=9999, number=10**NUMBER_MAX_DIGITS - 1)
    if len(longest) > NUMBER_MAX_LENGTH:
        raise ValidationError(
            _(
                "Modèle trop long : il peut produire « %(longest)s » (%(length)s caractères) ; "
                "un numéro de facture en a %(max)s au plus (BR-FR-01)."
            ),
            params={"longest": longest, "length": len(longest), "max": NUMBER_MAX_LENGTH},
            code="pattern_too_long",
        )
    return slots


def validate_number_pattern(value: str) -> None:
    number_pattern_slots(value)


def number_patterns_overlap(first: str, second: str) -> str | None:
    """A number that both (valid) patterns can produce, or None when they never meet.

    Invoices and credit notes share one number space per company (a unique constraint):
    two patterns that can give the same number would make a finalisation fail.
    """
    a, b = number_pattern_slots(first), number_pattern_slots(second)
    # Shortest common output: a 0-1 breadth-first search over pairs of positions (at most
    # 36 x 36); leaving out an optional digit costs nothing, writing a character costs 1.
    goal = (len(a), len(b))
    best: dict[tuple[int, int], tuple[int, tuple[int, int] | None, str]] = {(0, 0): (0, None, "")}
    queue = deque([(0, 0)])
    while queue:
        i, j = queue.popleft()
        cost = best[(i, j)][0]
        moves = []
        if i < len(a) and a[i][1]:
            moves.append(((i + 1, j), ""))
        if j < len(b) and b[j][1]:
            moves.append(((i, j + 1), ""))
        common = a[i][0] & b[j][0] if i < len(a) and j < len(b) else frozenset()
        if common:
            moves.append(((i + 1, j + 1), "1" if "1" in common else min(common)))
        for state, char in moves:
            new_cost = cost + len(char)
            if state not in best or new_cost < best[state][0]:
                best[state] = (new_cost, (i, j), char)
                if char:
                    queue.append(state)
                else:
                    queue.appendleft(state)
    if goal not in best:
        return None
    chars, state = [], goal
    while (step := best[state])[1] is not None:
        chars.append(step[2])
        state = step[1]
    return "".join(reversed(chars))


def validate_vat(
    category: str, rate: Decimal | None, exemption_reason: str, exemption_code: str = ""
) -> str:
    """EN 16931 rules on a line's VAT: S has a positive rate, exemptions a 0 rate and a reason
    (BT-120), which the exemption code (BT-121) gives by default. Returns the reason."""
    from invoicing import fr_ctc
    from invoicing.models import EXEMPT_CATEGORIES, VatCategory

    if exemption_code and not exemption_reason.strip():
        exemption_reason = fr_ctc.exemption_text(exemption_code)
    if rate is None:
        return exemption_reason
    if rate < 0 or rate >= 100:
        raise ValidationError({"vat_rate": _("Le taux de TVA doit être compris entre 0 et 100 %.")})
    if category == VatCategory.STANDARD and rate == 0:
        raise ValidationError(
            {"vat_rate": _("Un taux normal ou réduit doit être supérieur à 0 %.")}
        )
    if category != VatCategory.STANDARD and rate != 0:
        raise ValidationError({"vat_rate": _("Cette catégorie de TVA impose un taux de 0 %.")})
    if category in EXEMPT_CATEGORIES and not exemption_reason.strip():
        raise ValidationError(
            {
                "exemption_reason": _(
                    "Indiquez le motif d'exonération (par exemple « TVA non applicable, "
                    "art. 293 B du CGI » ou « Autoliquidation »)."
                )
            }
        )
    if exemption_code and category not in EXEMPT_CATEGORIES:
        raise ValidationError(
            {"exemption_code": _("Un code d'exonération ne va qu'avec une TVA exonérée.")}
        )
    fr_ctc.validate_exemption_code(category, exemption_code)
    return exemption_reason
