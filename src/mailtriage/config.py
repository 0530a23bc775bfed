"""TOML configuration: where it is found, what it must contain, and precise errors.

Every error names the file, the key, what is wrong and how to fix it, because the person
reading it is an agent at a terminal who did not write the loader.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailtriage.rules.model import Rule
    from mailtriage.sla.settings import SlaConfig
    from mailtriage.triage.departments import Department

SECURITY_MODES = ("tls", "starttls", "insecure-plaintext")
DEFAULT_PORTS = {
    "imap": {"tls": 993, "starttls": 143, "insecure-plaintext": 143},
    "smtp": {"tls": 465, "starttls": 587, "insecure-plaintext": 25},
}
# Agent names become IMAP keywords (mt:assignee/NAME): keep them to safe atom characters.
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


# C0 and C1 controls, DEL, line separators and bidi controls.
_UNPRINTABLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    return match.group().encode("unicode_escape").decode("ascii")


class ConfigError(Exception):
    """A configuration problem explained for a human: file, key, problem, fix."""

    def __init__(self, path: Path | str | None, key: str | None, problem: str, fix: str = ""):
        self.path = path
        self.key = key
        self.problem = problem
        self.fix = fix
        where = str(path) if path else "configuration"
        if key:
            where += f": {key}"
        message = f"{where}: {problem}"
        if fix:
            message += f" (fix: {fix})"
        # One line, whatever a value quoted in it holds (a newline in ca_file split it in two:
        # found by `make fuzz`), and nothing a terminal would act on.
        super().__init__(_UNPRINTABLE.sub(_escape, message))


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    security: str
    username: str
    password: str | None = field(default=None, repr=False)
    password_command: str | None = None
    ca_file: Path | None = None
    timeout: float = 30.0
    key_prefix: str = ""  # e.g. "accounts.support.imap", for messages

    password_keyring: str | None = None  # keyring service name (username: `username`)

    def resolve_password(self) -> str:
        """The password (a masked-repr `passwords.Secret`) from the configured source."""
        from mailtriage import passwords

        if self.password is not None:
            return passwords.remember(self.password)
        try:
            if self.password_command:
                return passwords.from_command(
                    self.password_command, f"{self.key_prefix}.password_command"
                )
            if self.password_keyring:
                return passwords.from_keyring(
                    self.password_keyring, self.username, f"{self.key_prefix}.password_keyring"
                )
        except passwords.SecretError as exc:
            raise ConfigError(None, exc.key, exc.problem, exc.fix) from None
        raise ConfigError(
            None,
            self.key_prefix,
            "no password, password_command or password_keyring",
            'add password_command = "pass show mail/support"',
        )


@dataclass(frozen=True)
class AccountConfig:
    name: str
    address: str
    imap: ServerConfig
    smtp: ServerConfig | None
    cache_dir: Path
    sent_folder: str | None = None  # None: find the \Sent special-use folder
    poll_interval: float = 60.0  # seconds between checks where IDLE is missing (and of Sent)
    app_folder: str = "Mailtriage"  # the app-owned folder: events, notes, presence
    # Bodies fetched in the background: of messages from the last N days; None: of every one.
    prefetch_days: int | None = None
    # rules.own_reply_moves_to_in_progress: the cache derives state by it (team-wide rule)
    own_reply_moves_to_in_progress: bool = True
    # Where status lives when the server refuses custom keywords (PERMANENTFLAGS without \*):
    # status -> folder; see triage.folders.
    status_folders: dict[str, str] = field(
        default_factory=lambda: {"unhandled": "INBOX", "in-progress": "対応中", "done": "対応済"}
    )

    @property
    def cache_path(self) -> Path:
        return self.cache_dir / f"{self.name}.sqlite3"


@dataclass(frozen=True)
class UiConfig:
    theme: str = "mailtriage-dark"
    theme_file: Path | None = None  # a user theme (TOML, textual Theme fields)
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys ("j,down")
    download_dir: Path | None = None  # where `o` saves attachments; None: ~/Downloads
    saved_searches: dict[str, str] = field(default_factory=dict)  # sidebar name -> query

    @property
    def downloads(self) -> Path:
        if self.download_dir:
            return self.download_dir
        xdg = os.environ.get("XDG_DOWNLOAD_DIR")
        return Path(xdg) if xdg else Path.home() / "Downloads"


def default_state_dir() -> Path:
    return xdg_dir("STATE", ".local/state") / "mailtriage"


COMPOSE_CHARSETS = ("utf-8", "iso-2022-jp")


@dataclass(frozen=True)
class ComposeConfig:
    display_name: str | None = None  # agent.display_name: how you sign ("佐藤 花子")
    signature: str | None = None  # agent.signature
    from_name: str = ""  # compose.from_name: the From display name ("Example Support")
    from_with_agent: bool = False  # From: "佐藤 花子 (Example Support)"
    charset: str = "utf-8"
    iso2022jp_domains: tuple[str, ...] = ()
    undo_seconds: int = 10
    quote: bool = True
    # The outbox must survive deleting the cache: it is the only copy of an unsent reply.
    outbox_dir: Path = field(default_factory=default_state_dir)
    template_dirs: tuple[Path, ...] = ()
    company: dict[str, str] = field(default_factory=dict)
    auto_ack: str | None = None  # compose.auto_ack: template name/key; None: off
    auto_ack_per_sender_per_day: int = 3


@dataclass(frozen=True)
class KbConfig:
    """[kb]: the knowledge base (a directory of Markdown articles, e.g. a git checkout)."""

    path: Path
    index_path: Path  # the disposable search index, rebuilt from the files
    review_days: int = 180  # an article without review_by/review_every is due this long after
    unused_days: int = 90  # `kb --check` lists articles nobody inserted for this long


@dataclass(frozen=True)
class Config:
    path: Path | None
    agent: str
    members: tuple[str, ...]
    supervisors: tuple[str, ...]
    accounts: dict[str, AccountConfig]
    warnings: tuple[str, ...] = ()
    ui: UiConfig = field(default_factory=UiConfig)
    compose: ComposeConfig = field(default_factory=ComposeConfig)
    sla: SlaConfig = field(default_factory=lambda: _sla_table(None))
    rules: tuple[Rule, ...] = ()  # [[rules.rule]], in file order
    away: tuple[str, ...] = ()  # team.away: members who get no new assignments
    kb: KbConfig | None = None  # [kb]; None: no knowledge base
    departments: dict[str, Department] = field(default_factory=dict)  # [departments.NAME]


def xdg_dir(kind: str, fallback: str) -> Path:
    value = os.environ.get(f"XDG_{kind}_HOME")
    return Path(value) if value else Path.home() / fallback


def default_config_path() -> Path:
    return xdg_dir("CONFIG", ".config") / "mailtriage" / "config.toml"


def default_cache_dir() -> Path:
    return xdg_dir("CACHE", ".cache") / "mailtriage"


def find_config(explicit: str | os.PathLike[str] | None) -> Path:
    """--config FILE, then $MAILTRIAGE_CONFIG, then the XDG config dir."""
    if explicit:
        path, how = Path(explicit), "given by --config"
    elif os.environ.get("MAILTRIAGE_CONFIG"):
        path, how = Path(os.environ["MAILTRIAGE_CONFIG"]), "from $MAILTRIAGE_CONFIG"
    else:
        path, how = default_config_path(), "the default location"
    if not path.is_file():
        raise ConfigError(
            path,
            None,
            f"not found ({how})",
            "copy config.example.toml there and edit it, or try `make demo`",
        )
    return path


def load_config(
    explicit: str | os.PathLike[str] | None = None, agent_override: str | None = None
) -> Config:
    path = find_config(explicit)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, None, f"not valid TOML: {exc}", "fix the syntax") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, None, f"cannot read: {exc}") from exc
    return parse_config(data, path, agent_override=agent_override)


class _Reader:
    """Typed access to a TOML table that reports the full dotted key on error."""

    def __init__(self, path: Path | None, data: dict[str, Any], prefix: str):
        self.path, self.data, self.prefix = path, data, prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def err(self, name: str, problem: str, fix: str = "") -> ConfigError:
        return ConfigError(self.path, self.key(name), problem, fix)

    def table(self, name: str, required: bool = True) -> _Reader | None:
        value = self.data.get(name)
        if value is None:
            if required:
                raise self.err(name, "missing table", f"add a [{self.key(name)}] section")
            return None
        if not isinstance(value, dict):
            raise self.err(name, f"expected a table, got {type(value).__name__}")
        return _Reader(self.path, value, self.key(name))

    def str(self, name: str, default: str | None = None, required: bool = False) -> str | None:
        value = self.data.get(name, default)
        if value is None:
            if required:
                raise self.err(name, "missing", f'add {name} = "..."')
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.err(name, f"expected a non-empty string, got {value!r}")
        return value

    def int(self, name: str, default: int, low: int, high: int) -> int:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.err(
                name,
                f"expected an integer from {low} to {high}, got {value!r}",
                f"write a bare number, e.g. {name} = {default}",
            )
        return value

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self.data.get(name, default)
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not low <= value <= high:
            raise self.err(name, f"expected a number from {low} to {high}, got {value!r}")
        return float(value)

    def names(self, name: str) -> tuple[str, ...]:
        value = self.data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.err(name, f"expected a list of names, got {value!r}")
        for v in value:
            check_agent_name(v, self.path, self.key(name))
        return tuple(value)

    def unknown(self, allowed: set[str]) -> None:
        for name in self.data:
            if name not in allowed:
                raise self.err(
                    name, "unknown key", "check the spelling against config.example.toml"
                )


def check_agent_name(name: str, path: Path | None = None, key: str | None = None) -> str:
    if not _NAME_RE.match(name):
        raise ConfigError(
            path,
            key,
            f"agent name {name!r} is not allowed",
            "use 1-32 lower-case letters, digits, '.', '_' or '-' (it becomes an IMAP keyword)",
        )
    return name


def _server(reader: _Reader, kind: str, warnings: list[str]) -> ServerConfig:
    reader.unknown(
        {
            "host",
            "port",
            "security",
            "username",
            "password",
            "password_command",
            "password_keyring",
            "ca_file",
            "timeout",
        }
    )
    security = reader.str("security", "tls" if kind == "imap" else "starttls")
    assert security is not None
    if security not in SECURITY_MODES:
        raise reader.err(
            "security", f"must be one of {', '.join(SECURITY_MODES)}, got {security!r}"
        )
    if security == "insecure-plaintext":
        warnings.append(
            f"{reader.prefix}: security = insecure-plaintext sends your password unencrypted"
        )
    password = reader.str("password")
    password_command = reader.str("password_command")
    password_keyring = _keyring_service(reader)
    sources = [
        name
        for name, value in (
            ("password", password),
            ("password_command", password_command),
            ("password_keyring", password_keyring),
        )
        if value is not None
    ]
    if len(sources) > 1:
        both = "both " if len(sources) == 2 else "all of "
        raise reader.err(
            sources[0], f"{both}{' and '.join(sources)} are set", "keep only one password source"
        )
    if password is not None:
        warnings.append(
            f"{reader.key('password')} is stored in plain text; prefer password_command"
        )
    ca_file = reader.str("ca_file")
    ca_path = Path(ca_file).expanduser() if ca_file else None
    if ca_path is not None and not ca_path.is_file():
        raise reader.err("ca_file", f"no such file: {ca_path}", "point it at a PEM CA bundle")
    host = reader.str("host", required=True)
    username = reader.str("username", required=True)
    assert host is not None and username is not None
    return ServerConfig(
        host=host,
        port=reader.int("port", DEFAULT_PORTS[kind][security], 1, 65535),
        security=security,
        username=username,
        password=password,
        password_command=password_command,
        password_keyring=password_keyring,
        ca_file=ca_path,
        timeout=reader.number("timeout", 30.0, 1.0, 600.0),
        key_prefix=reader.prefix,
    )


def parse_config(
    data: dict[str, Any], path: Path | None = None, *, agent_override: str | None = None
) -> Config:
    root = _Reader(path, data, "")
    root.unknown(
        {
            "agent",
            "team",
            "accounts",
            "ui",
            "sla",
            "rules",
            "templates",
            "compose",
            "company",
            "kb",
            "departments",
        }
    )
    warnings: list[str] = []

    team = root.table("team", required=False)
    members = team.names("members") if team else ()
    supervisors = team.names("supervisors") if team else ()
    away = team.names("away") if team else ()
    for name in away:
        if members and name not in members:
            raise ConfigError(
                path, "team.away", f"{name!r} is not in team.members", f'remove "{name}"'
            )
    for sup in supervisors:
        if members and sup not in members:
            raise ConfigError(
                path,
                "team.supervisors",
                f"{sup!r} is not in team.members",
                f'add "{sup}" to team.members',
            )

    agent_table = root.table("agent", required=False)
    agent = agent_override or os.environ.get("MAILTRIAGE_AGENT")
    agent_key = "--as / $MAILTRIAGE_AGENT" if agent else "agent.name"
    if agent_table:
        agent_table.unknown({"name", "display_name", "signature"})
    if not agent and agent_table:
        agent = agent_table.str("name")
    if not agent:
        raise ConfigError(
            path,
            "agent.name",
            "missing: who are you on the team?",
            '[agent] name = "alice", or pass --as NAME',
        )
    check_agent_name(agent, path, agent_key)
    if members and agent not in members:
        raise ConfigError(
            path, agent_key, f"{agent!r} is not in team.members", f'add "{agent}" to team.members'
        )

    rules = root.table("rules", required=False)
    own_reply = _bool(rules, "own_reply_moves_to_in_progress", True) if rules else True
    sla = _sla_table(root.table("sla", required=False))
    rule_list = _rule_list(rules, members, sla) if rules else ()

    accounts_table = root.table("accounts")
    assert accounts_table is not None
    if not accounts_table.data:
        raise ConfigError(path, "accounts", "no accounts", "add an [accounts.NAME] table")
    accounts: dict[str, AccountConfig] = {}
    for name in accounts_table.data:
        if not _ACCOUNT_RE.match(name):
            raise ConfigError(path, f"accounts.{name}", "account names are letters, digits, _ -")
        acc = accounts_table.table(name)
        assert acc is not None
        acc.unknown(
            {
                "address",
                "cache_dir",
                "imap",
                "smtp",
                "sent_folder",
                "poll_interval",
                "app_folder",
                "prefetch_days",
                "status_folders",
            }
        )
        address = acc.str("address", required=True)
        assert address is not None
        if "@" not in address:
            raise acc.err("address", f"{address!r} is not an email address")
        imap_table = acc.table("imap")
        assert imap_table is not None
        smtp_table = acc.table("smtp", required=False)
        cache = acc.str("cache_dir")
        accounts[name] = AccountConfig(
            name=name,
            address=address.lower(),
            imap=_server(imap_table, "imap", warnings),
            smtp=_server(smtp_table, "smtp", warnings) if smtp_table else None,
            cache_dir=Path(cache).expanduser() if cache else default_cache_dir(),
            sent_folder=acc.str("sent_folder"),
            poll_interval=acc.number("poll_interval", 60.0, 5.0, 3600.0),
            app_folder=acc.str("app_folder", "Mailtriage") or "Mailtriage",
            prefetch_days=(
                acc.int("prefetch_days", 0, 0, 36_500) if "prefetch_days" in acc.data else None
            ),
            own_reply_moves_to_in_progress=own_reply,
            status_folders=_status_folders(acc),
        )
    ui = _ui(root.table("ui", required=False))
    compose = _compose(
        agent_table,
        root.table("compose", required=False),
        root.table("company", required=False),
        root.table("templates", required=False),
    )
    if path is not None:
        _check_config_file_mode(path, accounts, warnings)
    return Config(
        path=path,
        agent=agent,
        members=members,
        supervisors=supervisors,
        accounts=accounts,
        warnings=tuple(warnings),
        ui=ui,
        compose=compose,
        sla=sla,
        rules=rule_list,
        away=away,
        kb=_kb(root.table("kb", required=False), accounts),
        departments=_departments(root.table("departments", required=False), members),
    )


def _departments(reader: _Reader | None, members: tuple[str, ...]) -> dict[str, Department]:
    if reader is None:
        return {}
    from mailtriage.triage.departments import parse_departments

    return parse_departments(reader, members)


def _sla_table(reader: _Reader | None) -> SlaConfig:
    # Imported here: mailtriage.sla imports this module for _Reader and ConfigError.
    from mailtriage.sla.settings import parse_sla

    return parse_sla(reader)


def _rule_list(reader: _Reader, members: tuple[str, ...], sla: SlaConfig) -> tuple[Rule, ...]:
    from mailtriage.rules.model import parse_rules

    reader.unknown({"own_reply_moves_to_in_progress", "rule"})
    return parse_rules(reader, members, sla)


def _bool(reader: _Reader, name: str, default: bool) -> bool:
    value = reader.data.get(name, default)
    if not isinstance(value, bool):
        raise reader.err(
            name, f"expected true or false, got {value!r}", f"{name} = {str(default).lower()}"
        )
    return value


def _strings(reader: _Reader, name: str) -> tuple[str, ...]:
    value = reader.data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise reader.err(name, f"expected a list of strings, got {value!r}", f'{name} = ["..."]')
    return tuple(value)


def _compose(
    agent: _Reader | None,
    compose: _Reader | None,
    company: _Reader | None,
    templates: _Reader | None,
) -> ComposeConfig:
    kwargs: dict[str, Any] = {}
    if agent is not None:
        kwargs["display_name"] = agent.str("display_name")
        kwargs["signature"] = agent.str("signature")
    if compose is not None:
        compose.unknown(
            {
                "from_name",
                "from_with_agent",
                "charset",
                "iso2022jp_domains",
                "undo_seconds",
                "quote",
                "outbox_dir",
                "auto_ack",
                "auto_ack_per_sender_per_day",
            }
        )
        charset = (compose.str("charset", "utf-8") or "utf-8").lower()
        if charset not in COMPOSE_CHARSETS:
            raise compose.err(
                "charset", f"must be one of {', '.join(COMPOSE_CHARSETS)}, got {charset!r}"
            )
        outbox_dir = compose.str("outbox_dir")
        kwargs.update(
            from_name=compose.str("from_name", "") or "",
            from_with_agent=_bool(compose, "from_with_agent", False),
            charset=charset,
            iso2022jp_domains=tuple(d.lower() for d in _strings(compose, "iso2022jp_domains")),
            undo_seconds=compose.int("undo_seconds", 10, 0, 600),
            quote=_bool(compose, "quote", True),
            auto_ack=compose.str("auto_ack") or None,
            auto_ack_per_sender_per_day=compose.int("auto_ack_per_sender_per_day", 3, 1, 100),
        )
        if outbox_dir:
            kwargs["outbox_dir"] = Path(outbox_dir).expanduser()
    if company is not None:
        values = {}
        for name in company.data:
            value = company.str(name, required=True)
            assert value is not None
            values[name] = value
        kwargs["company"] = values
    if templates is not None:
        templates.unknown({"dirs"})
        kwargs["template_dirs"] = tuple(Path(d).expanduser() for d in _strings(templates, "dirs"))
    return ComposeConfig(**kwargs)


def _ui(reader: _Reader | None) -> UiConfig:
    if reader is None:
        return UiConfig()
    reader.unknown({"theme", "theme_file", "keymap", "download_dir", "saved_searches"})
    searches_table = reader.table("saved_searches", required=False)
    saved: dict[str, str] = {}
    if searches_table is not None:
        for name in searches_table.data:
            query = searches_table.str(name, required=True)
            assert query is not None
            saved[name] = query
    theme_file = reader.str("theme_file")
    keymap_table = reader.table("keymap", required=False)
    keymap: dict[str, str] = {}
    if keymap_table is not None:
        for binding_id in keymap_table.data:
            keys = keymap_table.str(binding_id, required=True)
            assert keys is not None
            keymap[binding_id] = keys
    return UiConfig(
        theme=reader.str("theme", "mailtriage-dark") or "mailtriage-dark",
        theme_file=Path(theme_file).expanduser() if theme_file else None,
        keymap=keymap,
        download_dir=Path(d).expanduser() if (d := reader.str("download_dir")) else None,
        saved_searches=saved,
    )


def _keyring_service(reader: _Reader) -> str | None:
    """password_keyring = true (service "mailtriage") or a service name."""
    value = reader.data.get("password_keyring")
    if value is None or value is False:
        return None
    if value is True:
        from mailtriage.passwords import KEYRING_SERVICE

        return KEYRING_SERVICE
    if isinstance(value, str) and value.strip():
        return value
    raise reader.err(
        "password_keyring",
        f"expected true or a keyring service name, got {value!r}",
        "password_keyring = true",
    )


def _kb(reader: _Reader | None, accounts: dict[str, AccountConfig]) -> KbConfig | None:
    """[kb] path (relative to the config file), index, review_days, unused_days."""
    if reader is None:
        return None
    reader.unknown({"path", "index", "review_days", "unused_days"})
    base = reader.path.parent if reader.path else Path.cwd()
    text = reader.str("path", required=True)
    assert text is not None
    index = reader.str("index")
    # Beside the first account's cache by default: disposable like it, rebuilt from the files.
    cache_dir = next(iter(accounts.values())).cache_dir
    return KbConfig(
        path=base / Path(text).expanduser(),
        index_path=base / Path(index).expanduser() if index else cache_dir / "kb-index.sqlite3",
        review_days=reader.int("review_days", 180, 1, 3650),
        unused_days=reader.int("unused_days", 90, 1, 3650),
    )


def _check_config_file_mode(
    path: Path, accounts: dict[str, AccountConfig], warnings: list[str]
) -> None:
    """Refuse a config others can write when it says where a password comes from: whoever can
    edit it can point the host at their own server, or make password_command run their code
    as you. Warn when others can read a plain password in it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    servers = [s for a in accounts.values() for s in (a.imap, a.smtp) if s is not None]
    if mode & (stat.S_IWGRP | stat.S_IWOTH) and servers:
        who = (
            "group and others"
            if mode & stat.S_IWGRP and mode & stat.S_IWOTH
            else ("its group" if mode & stat.S_IWGRP else "every user")
        )
        raise ConfigError(
            path,
            None,
            f"is writable by {who} (mode {stat.S_IMODE(mode):04o}) and says how to get your"
            " password; anyone who can edit it can redirect or run commands as you",
            f"chmod 600 {path}",
        )
    if mode & (stat.S_IRGRP | stat.S_IROTH) and any(s.password is not None for s in servers):
        warnings.append(f"{path} holds a password and is readable by others: chmod 600 {path}")


def print_warnings(config: Config, stream: Any = None) -> None:
    for warning in config.warnings:
        print(f"mailtriage: warning: {warning}", file=stream or sys.stderr)


def _status_folders(acc: _Reader) -> dict[str, str]:
    """accounts.NAME.status_folders: {unhandled = "INBOX", in-progress = "…", done = "…"}."""
    folders = {"unhandled": "INBOX", "in-progress": "対応中", "done": "対応済"}
    table = acc.table("status_folders", required=False)
    if table is None:
        return folders
    table.unknown(set(folders))
    for status in list(folders):
        name = (table.str(status) or folders[status]).strip()
        if not name:
            raise table.err(status, "a status folder needs a name")
        folders[status] = name
    if len(set(folders.values())) != len(folders):
        raise acc.err("status_folders", "each status needs its own folder")
    return folders
