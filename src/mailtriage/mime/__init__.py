"""The mime layer: raw message bytes in, decoded and repaired ParsedMessage out.

Standard library only, and never imports Textual (layers stay separable). Strings in a
ParsedMessage are faithful, not terminal-safe: display code must use sanitize_for_terminal.
"""

from .model import Address, Attachment, ParsedMessage
from .parse import extract_attachment, parse_headers, parse_message
from .sanitize import sanitize_for_terminal

__all__ = [
    "Address",
    "Attachment",
    "ParsedMessage",
    "extract_attachment",
    "parse_headers",
    "parse_message",
    "sanitize_for_terminal",
]
