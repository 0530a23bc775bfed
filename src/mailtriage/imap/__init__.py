"""IMAP: connections, capability detection and the sync engine (imapclient, in a worker thread)."""

import os
import sys
import types
from importlib.util import find_spec


def _preload_imapclient_version() -> None:
    """Give imapclient its version module without importlib.metadata.

    imapclient.version calls importlib.metadata only to learn its own version string, and
    importing importlib.metadata (zipfile, email.parser, csv, tempfile...) is ~20 ms of the
    ~150 ms a no-change `mailtriage sync` process is allowed at 100k messages. The installed
    distribution's directory name says the same version; anything unexpected (another layout,
    two versions side by side, an imapclient already imported) leaves the normal import alone.
    """
    if "imapclient" in sys.modules:
        return
    spec = find_spec("imapclient")
    if spec is None or spec.origin is None:
        return
    site = os.path.dirname(os.path.dirname(spec.origin))
    found = [
        name
        for name in os.listdir(site)
        if name.lower().startswith("imapclient-") and name.endswith(".dist-info")
    ]
    if len(found) != 1:
        return
    version = found[0][len("imapclient-") : -len(".dist-info")]
    parts = version.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return
    module = types.ModuleType("imapclient.version")
    module.version = version  # type: ignore[attr-defined]
    module.version_info = (int(parts[0]), int(parts[1]), int(parts[2]), "final")  # type: ignore[attr-defined]
    sys.modules["imapclient.version"] = module


_preload_imapclient_version()
