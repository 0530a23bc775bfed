"""Config lookup order, validation and error messages (file, key, problem, fix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailtriage.config import ConfigError, load_config, parse_config

GOOD = """
[agent]
name = "alice"
[team]
members = ["alice", "bob", "carol"]
supervisors = ["carol"]
[accounts.support]
address = "Support@Example.com"
[accounts.support.imap]
host = "imap.example.com"
username = "support"
password_command = "printf s3cret"
[accounts.support.smtp]
host = "smtp.example.com"
username = "support"
password_command = "printf s3cret"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    account = config.accounts["support"]
    assert config.agent == "alice"
    assert config.supervisors == ("carol",)
    assert account.address == "support@example.com"
    assert (account.imap.port, account.imap.security) == (993, "tls")
    assert account.smtp is not None
    assert (account.smtp.port, account.smtp.security) == (587, "starttls")
    assert account.imap.resolve_password() == "s3cret"
    assert account.cache_path.parent == Path(tmp_path / "xdg" / "cache" / "mailtriage")
    assert config.warnings == ()
    assert account.prefetch_days is None  # every body, in the background
    text = GOOD.replace('address = "Support@Example.com"', 'address = "s@x.jp"\nprefetch_days = 30')
    assert load_config(write(tmp_path, text)).accounts["support"].prefetch_days == 30


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdg = tmp_path / "xdg" / "config" / "mailtriage"
    xdg.mkdir(parents=True)
    (xdg / "config.toml").write_text(GOOD.replace('"alice"\n[team]', '"bob"\n[team]'))
    assert load_config().agent == "bob"
    env_file = tmp_path / "env.toml"
    env_file.write_text(GOOD.replace('name = "alice"', 'name = "carol"'))
    monkeypatch.setenv("MAILTRIAGE_CONFIG", str(env_file))
    assert load_config().agent == "carol"
    assert load_config(write(tmp_path, GOOD)).agent == "alice"


def test_agent_override_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, GOOD)
    monkeypatch.setenv("MAILTRIAGE_AGENT", "bob")
    assert load_config(path).agent == "bob"
    assert load_config(path, agent_override="carol").agent == "carol"
    with pytest.raises(ConfigError, match=r"'dave' is not in team\.members"):
        load_config(path, agent_override="dave")


def test_missing_file_says_where_and_how(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in str(info.value)
    assert "config.example.toml" in str(info.value)


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (
            ('host = "imap.example.com"', 'host = "imap.example.com"\nport = "x"'),
            "accounts.support.imap.port",
            "expected an integer from 1 to 65535",
        ),
        (
            (
                'username = "support"\npassword_command = "printf s3cret"\n[accounts.support.smtp]',
                'username = "support"\nsecurity = "ssl"\npassword_command = "x"\n'
                "[accounts.support.smtp]",
            ),
            "accounts.support.imap.security",
            "must be one of tls, starttls, insecure-plaintext",
        ),
        (
            ('address = "Support@Example.com"', 'address = "Support@Example.com"\ncolour = 1'),
            "accounts.support.colour",
            "unknown key",
        ),
        (
            ('address = "Support@Example.com"', 'address = "support"'),
            "accounts.support.address",
            "is not an email address",
        ),
        (
            ('supervisors = ["carol"]', 'supervisors = ["zed"]'),
            "team.supervisors",
            "'zed' is not in team.members",
        ),
        (('name = "alice"', 'name = "Alice Smith"'), "agent.name", "is not allowed"),
        (
            ('address = "Support@Example.com"', 'address = "s@x.jp"\nprefetch_days = "all"'),
            "accounts.support.prefetch_days",
            "expected an integer from 0 to 36500",
        ),
        (
            ('address = "Support@Example.com"', 'address = "s@x.jp"\nprefetch_days = -1'),
            "accounts.support.prefetch_days",
            "got -1",
        ),
    ],
)
def test_bad_values_name_the_key(
    tmp_path: Path, change: tuple[str, str], key: str | None, problem: str | None
) -> None:
    if key is None:
        pytest.skip("placeholder row removed below")  # pragma: no cover
    text = GOOD.replace(*change, 1)
    assert text != GOOD
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert info.value.key == key
    assert problem in str(info.value)
    assert str(tmp_path / "config.toml") in str(info.value)


def test_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[agent\nname = 1"))


def test_plain_password_warns_and_both_forms_rejected(tmp_path: Path) -> None:
    text = GOOD.replace('password_command = "printf s3cret"', 'password = "pw"', 1)
    config = load_config(write(tmp_path, text))
    assert any("plain text" in w for w in config.warnings)
    assert config.accounts["support"].imap.resolve_password() == "pw"
    text = GOOD.replace(
        'password_command = "printf s3cret"', 'password = "pw"\npassword_command = "x"', 1
    )
    with pytest.raises(ConfigError, match="both password and password_command"):
        load_config(write(tmp_path, text))


def test_password_command_failure_is_reported(tmp_path: Path) -> None:
    text = GOOD.replace('password_command = "printf s3cret"', 'password_command = "exit 3"', 1)
    config = load_config(write(tmp_path, text))
    with pytest.raises(ConfigError) as info:
        config.accounts["support"].imap.resolve_password()
    assert info.value.key == "accounts.support.imap.password_command"
    assert "status 3" in str(info.value)


def test_insecure_plaintext_is_loud() -> None:
    data = {
        "agent": {"name": "alice"},
        "accounts": {
            "a": {
                "address": "a@b.c",
                "imap": {
                    "host": "h",
                    "username": "u",
                    "password_command": "x",
                    "security": "insecure-plaintext",
                },
            }
        },
    }
    config = parse_config(data)
    assert config.accounts["a"].imap.port == 143
    assert any("unencrypted" in w for w in config.warnings)


def test_missing_ca_file(tmp_path: Path) -> None:
    text = GOOD.replace(
        'host = "imap.example.com"',
        f'host = "imap.example.com"\nca_file = "{tmp_path}/none.pem"',
        1,
    )
    with pytest.raises(ConfigError, match="no such file") as info:
        load_config(write(tmp_path, text))
    assert info.value.key == "accounts.support.imap.ca_file"


def test_a_value_with_a_newline_is_reported_on_one_line(tmp_path: Path) -> None:
    # Found by `make fuzz` (test_config_loader_answers_in_one_line): the message split in two.
    text = GOOD.replace(
        'host = "imap.example.com"', 'host = "imap.example.com"\nca_file = "alice\\nbob\\u202e"', 1
    )
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert "\n" not in str(info.value) and "\u202e" not in str(info.value)
    assert "no such file: alice\\nbob\\u202e" in str(info.value)


def test_shipped_example_config_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    config = load_config(example)
    assert config.agent == "alice"
    assert set(config.accounts) == {"support"}
    assert config.warnings == ()
