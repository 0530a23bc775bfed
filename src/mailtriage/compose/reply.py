"""One call from a cached conversation + a template to a reply ready for the outbox:
what both the CLI and the app's compose screen use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailtriage.compose import tone
from mailtriage.compose.message import (
    AttachmentFile,
    OutgoingMessage,
    build_reply,
    encoding_warnings,
    from_address,
)
from mailtriage.compose.templates import Template, guess_language, render
from mailtriage.compose.variables import build_variables, last_inbound
from mailtriage.config import Config
from mailtriage.sla.csat import survey_variables
from mailtriage.smtp.server_side import Snapshot


@dataclass(frozen=True)
class PreparedReply:
    message: OutgoingMessage
    hints: list[tone.Hint]
    warnings: list[str]  # encoding fallbacks
    snapshot: Snapshot  # hand to Outbox.enqueue for check-then-send
    language: str


def conversation_language(conversation: Mapping[str, Any]) -> str:
    original = last_inbound(conversation) or {}
    return guess_language(f"{conversation.get('subject', '')}\n{original.get('text') or ''}")


def agent_variables(config: Config) -> dict[str, Any]:
    return {
        "name": config.agent,
        "display_name": config.compose.display_name,
        "signature": config.compose.signature,
    }


def prepare_reply(
    config: Config,
    account: str,
    conversation: Mapping[str, Any],
    template: Template | None,
    *,
    body: str | None = None,
    extra: Mapping[str, Any] | None = None,
    reply_all: bool = False,
    attachments: Sequence[AttachmentFile] = (),
    now: datetime | None = None,
) -> PreparedReply:
    """Render `template` (or take `body` as written) into a reply with hints.

    Raises TemplateError (file:line) for template problems and ComposeError for messages
    that cannot be built.
    """
    language = template.language if template else conversation_language(conversation)
    acc = config.accounts[account]
    subject = None
    if template is not None:
        variables = build_variables(
            conversation, agent=agent_variables(config), company=config.compose.company, now=now
        )
        variables["csat"] = survey_variables(config.sla.csat, conversation.get("id", ""))
        variables.update(extra or {})
        rendered = render(template, variables)
        body = rendered.body if body is None else body
        subject = rendered.subject
    display = config.compose.display_name or config.agent
    sender = from_address(
        acc.address,
        config.compose.from_name,
        display if config.compose.from_with_agent else None,
    )
    message = build_reply(
        conversation,
        sender=sender,
        body=body or "",
        subject=subject,
        reply_all=reply_all,
        quote_original=config.compose.quote,
        # Templates end with the signature themselves; a free-form body gets it appended.
        signature=None if template is not None else config.compose.signature,
        language=language,
        charset=config.compose.charset,
        iso2022jp_domains=config.compose.iso2022jp_domains,
        attachments=attachments,
        now=now,
        template_key=template.key if template else None,
        status_after_send=template.status_after_send if template else None,
    )
    hints = tone.check(message.body, language=language, customer=conversation.get("customer"))
    return PreparedReply(
        message,
        hints,
        encoding_warnings(message),
        Snapshot.of_conversation(dict(conversation), config.agent, acc.address),
        language,
    )
