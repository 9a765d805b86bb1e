import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 with Django's iteration count costs ~0.3 s per user; tests need no strength.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
