"""Encryption at rest for secrets stored in the database (technical passwords, API secrets)."""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except ValueError:
        # Not a Fernet key: derive one from the passphrase.
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()))


def encrypt(plaintext: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "A stored secret cannot be decrypted with CHORALE_ENCRYPTION_KEY."
        ) from exc


class Secret(str):
    """A decrypted secret whose repr never shows the value (tracebacks, debug pages)."""

    def __repr__(self) -> str:
        return "Secret('********')"


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; Python code sees the plaintext as a `Secret` ("" when unset)."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return Secret("")
        return Secret(decrypt(value))

    def to_python(self, value):
        if value is None:
            return Secret("")
        return value if isinstance(value, Secret) else Secret(value)

    def get_prep_value(self, value):
        if not value:
            return ""
        return encrypt(str(value))
