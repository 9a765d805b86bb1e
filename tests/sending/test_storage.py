"""How PostgreSQL stores what a sending keeps."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_the_stored_factur_x_is_not_compressed_again():
    # A PDF's streams are compressed already: TOAST compression would only cost CPU.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute "
            "WHERE attrelid = 'chorus_submission'::regclass AND attname = 'facturx_file'"
        )
        assert cursor.fetchone() == ("e",)  # EXTERNAL: out of line, uncompressed
