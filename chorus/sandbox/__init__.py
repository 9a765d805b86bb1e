"""A local, faithful Chorus Pro + PISTE sandbox (see README.md in this folder)."""

from chorus.sandbox.server import SandboxServer, create_server
from chorus.sandbox.state import Platform, SandboxConfig

__all__ = ["Platform", "SandboxConfig", "SandboxServer", "create_server"]
