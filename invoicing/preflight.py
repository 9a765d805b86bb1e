"""Checks an invoice must pass before it is numbered: the pre-flight.

The invoicing app knows no file format and no channel; the apps that make or send the
outgoing file register their checks here (`register`), and finalisation runs them on the
invoice exactly as it is about to be frozen. An invoice that fails is never numbered.

A check is an object with two methods:
- `problems(invoice)`: what breaks a rule, each with `rule`, `message` (French), and where
  to fix it: `field` (a name such as "note", "company.iban", "customer.siret") and `line`
  (the line's position) when it is known;
- `fingerprint(invoice)`: a digest of everything the checks read but the number and dates,
  so that a sending checked at request time need not run the checks again in the worker
  when nothing has changed since (finalisation compares the two).
"""

from __future__ import annotations

import hashlib
from typing import Protocol

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class Check(Protocol):
    def problems(self, invoice) -> list: ...

    def fingerprint(self, invoice) -> str: ...


_checks: list[Check] = []


def register(check: Check) -> None:
    _checks.append(check)


class PreflightError(ValidationError):
    """The invoice breaks a rule of the outgoing file: it stays provisional, unnumbered."""

    def __init__(self, problems: list):
        self.problems = list(problems)
        super().__init__(
            [_("La facture ne peut pas être validée :")] + [p.message for p in self.problems],
            code="preflight",
        )


def invoice_problems(invoice) -> list:
    """Every problem the registered checks find in `invoice` (as it will be frozen)."""
    return [problem for check in _checks for problem in check.problems(invoice)]


def invoice_fingerprint(invoice) -> str:
    parts = "\0".join(check.fingerprint(invoice) for check in _checks)
    return hashlib.sha256(parts.encode()).hexdigest()


def ensure_sendable(invoice, *, checked_fingerprint: str = "") -> None:
    """Raise PreflightError unless `invoice` passes every check. `checked_fingerprint`, from
    a pre-flight that passed on this same content, spares running the checks again."""
    if checked_fingerprint and checked_fingerprint == invoice_fingerprint(invoice):
        return
    problems = invoice_problems(invoice)
    if problems:
        raise PreflightError(problems)
