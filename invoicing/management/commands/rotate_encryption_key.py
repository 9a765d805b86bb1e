"""`python manage.py rotate_encryption_key`: every stored secret encrypted with the current key.

Rotation: set the new CHORALE_ENCRYPTION_KEY, put the old one in
CHORALE_ENCRYPTION_PREVIOUS_KEYS, run this command, then remove the old key.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from invoicing import crypto


class Command(BaseCommand):
    help = "Re-encrypt every stored secret with CHORALE_ENCRYPTION_KEY."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would change; write nothing."
        )

    def handle(self, *args, dry_run=False, **options):
        done, unreadable = 0, []
        with transaction.atomic():
            for model, name in crypto.encrypted_fields():
                table = connection.ops.quote_name(model._meta.db_table)
                column = connection.ops.quote_name(model._meta.get_field(name).column)
                pk = connection.ops.quote_name(model._meta.pk.column)
                with connection.cursor() as cursor:
                    # Raw tokens: the ORM would hand back decrypted values.
                    cursor.execute(
                        f"SELECT {pk}, {column} FROM {table} WHERE {column} <> '' "  # noqa: S608
                        f"ORDER BY {pk} FOR UPDATE"
                    )
                    rows = cursor.fetchall()
                for row_id, token in rows:
                    try:
                        fresh = crypto.reencrypt(token)
                    except crypto.UndecryptableError:
                        unreadable.append(f"{model._meta.verbose_name} #{row_id} ({name})")
                        continue
                    done += 1
                    if not dry_run:
                        with connection.cursor() as cursor:
                            cursor.execute(
                                f"UPDATE {table} SET {column} = %s WHERE {pk} = %s",  # noqa: S608
                                [fresh, row_id],
                            )
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(f"{done} secret(s) {verb} with CHORALE_ENCRYPTION_KEY.")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secret(s) cannot be decrypted with any configured key and "
                f"were left as they are; enter them again in the company settings: "
                + ", ".join(unreadable)
            )
