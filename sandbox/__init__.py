"""The sandbox web: a local "mini internet" of ad-carrying sites with known ground truth.

``SandboxWeb`` serves the sites; ``load_manifest()`` says which ads they carry
and which articles of the law each one breaks.
"""

from __future__ import annotations

from sandbox.manifest import TRAPS, GroundTruth, load_manifest
from sandbox.server import DEFAULT_PORT_BASE, SITES, SandboxWeb

__all__ = ["DEFAULT_PORT_BASE", "SITES", "TRAPS", "GroundTruth", "SandboxWeb", "load_manifest"]
