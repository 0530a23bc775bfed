"""Whether acknowledgements are on, and the start-up check that the templates they name exist.

Kept apart from compose.autoack (IMAP, SMTP, the cache): the app and `sync --watch` run the
check before they start, and it must not cost them those imports or Jinja's.
"""

from __future__ import annotations

from mailtriage.config import Config, ConfigError


def enabled(config: Config) -> bool:
    """compose.auto_ack is set, or a routing rule acknowledges with a template of its own."""
    return bool(config.compose.auto_ack) or any(r.ack for r in config.rules)


def check_templates(config: Config) -> None:
    """Raise ConfigError when an acknowledgement names a template that does not exist.

    Templates are files beside the config, so the loader does not read them; the app and
    `sync --watch` call this before they start. They refuse to start, as for any other config
    error: otherwise every acknowledgement pass fails on that rule (and stops the pass for the
    conversations after it) until someone reads the repeated message and fixes the name.
    """
    if not enabled(config):
        return
    from mailtriage.compose.templates import TemplateError, load_templates, template_dirs

    try:
        templates = load_templates(template_dirs(config), compile=False)
    except TemplateError as exc:  # a file that does not parse would fail every pass too
        raise ConfigError(
            config.path, "templates", f"an acknowledgement template does not parse: {exc}"
        ) from None
    known = {t.key for t in templates} | {t.name for t in templates}
    wanted = [
        (f"rules.rule[{index}].ack", f"rule {rule.name!r} acknowledges with", rule.ack)
        for index, rule in enumerate(config.rules)
        if rule.ack
    ]
    if config.compose.auto_ack:
        wanted.append(("compose.auto_ack", "auto_ack names", config.compose.auto_ack))
    for key, who, name in wanted:
        if name not in known:
            names = ", ".join(sorted({t.name for t in templates})) or "none"
            raise ConfigError(
                config.path,
                key,
                f"{who} template {name!r}, which does not exist (templates: {names})",
                "use one of those names, or add the template to a [templates] dirs directory",
            )
