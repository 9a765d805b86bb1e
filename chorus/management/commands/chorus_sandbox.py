"""`python manage.py chorus_sandbox --port 8070 [--host 127.0.0.1]` runs the local Chorus Pro
sandbox; `--list` prints its seeded data as JSON. See chorus/sandbox/README.md."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chorus.sandbox import server


class Command(BaseCommand):
    help = "Run the local Chorus Pro sandbox (PISTE token endpoint + /cpro API + /_sim control)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        server.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        server.run(options, out=self.stdout)
