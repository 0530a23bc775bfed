"""A separate agent process for the presence tests: announce, say so, then wait to be killed."""

from __future__ import annotations

import asyncio
import sys

from mailtriage.config import load_config
from mailtriage.imap.actions import AccountActions


async def main(config_path: str, key: str, activity: str) -> None:
    config = load_config(config_path)
    account = config.accounts["support"]
    actions = AccountActions(account, account.imap.resolve_password(), config.agent)
    await actions.announce(key, activity)
    print("announced", flush=True)
    await asyncio.sleep(120)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
