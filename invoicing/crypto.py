"""Encryption at rest for secrets stored in the database (technical passwords, API secrets).

`CHORALE_ENCRYPTION_KEY` encrypts; it and `CHORALE_ENCRYPTION_PREVIOUS_KEYS` decrypt
(Fernet's MultiFernet), so a key can be rotated: set the new key, move the old one to the
previous keys, run `manage.py rotate_encryption_key`, then drop the old key. A secret that
no configured key decrypts loads as an `UnreadableSecret`: empty for the code, « à
ressaisir » on the pages, and its stored token is kept until someone types a new value.
"""

import base64
import hashlib
import logging
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

logger = logging.getLogger(__name__)


class UndecryptableError(ValueError):
    """No configured key decrypts a stored secret."""


@lru_cache(maxsize=8)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        # Not a Fernet key: derive one from the passphrase.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


@lru_cache(maxsize=4)
def _keyring(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([_fernet(key) for key in keys])


def keyring() -> MultiFernet:
    """The current key first (it encrypts), then the previous ones (they only decrypt)."""
    previous = getattr(settings, "FIELD_ENCRYPTION_PREVIOUS_KEYS", ())
    return _keyring((settings.FIELD_ENCRYPTION_KEY, *[key for key in previous if key]))


def encrypt(plaintext: str) -> str:
    return keyring().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return keyring().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise UndecryptableError(
            "A stored secret cannot be decrypted with CHORALE_ENCRYPTION_KEY nor "
            "CHORALE_ENCRYPTION_PREVIOUS_KEYS."
        ) from exc


def reencrypt(token: str) -> str:
    """`token` encrypted again with the current key. Raises UndecryptableError."""
    try:
        return keyring().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise UndecryptableError("A stored secret cannot be decrypted.") from exc


class Secret(str):
    """A decrypted secret whose repr never shows the value (tracebacks, debug pages)."""

    unreadable = False

    def __repr__(self) -> str:
        return "Secret('********')"


class UnreadableSecret(Secret):
    """A stored secret no configured key decrypts: "" for the code; saved back unchanged."""

    unreadable = True

    def __new__(cls, token: str):
        secret = super().__new__(cls, "")
        secret.token = token
        return secret


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; Python code sees the plaintext as a `Secret` ("" when unset)."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return Secret("")
        try:
            return Secret(decrypt(value))
        except UndecryptableError:
            logger.warning(
                "%s.%s cannot be decrypted with the configured keys: it must be entered again",
                self.model.__name__,
                self.name,
            )
            return UnreadableSecret(value)

    def to_python(self, value):
        if value is None:
            return Secret("")
        return value if isinstance(value, Secret) else Secret(value)

    def get_prep_value(self, value):
        if isinstance(value, UnreadableSecret):
            return value.token  # nobody typed a new one: keep what is stored
        if not value:
            return ""
        return encrypt(str(value))


def encrypted_fields():
    """(model, field name) of every encrypted field of the project."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.get_fields():
            if isinstance(field, EncryptedTextField):
                yield model, field.name
