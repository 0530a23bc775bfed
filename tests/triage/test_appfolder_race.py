"""Two agents' first app-folder items at the same moment (real Dovecot): both see TRYCREATE,
both CREATE the folder; the one that comes second gets ALREADYEXISTS and must still APPEND
(a `note` failed with "create failed: [ALREADYEXISTS]" in tests/faults/test_processes.py)."""

from __future__ import annotations

from mailtriage.imap.appfolder import append_item

RAW = b"From: a@example.jp\r\nSubject: note\r\nMessage-ID: <n1@example.jp>\r\n\r\nx\r\n"


def test_the_folder_created_by_another_agent_meanwhile_is_used(imap_account) -> None:  # type: ignore[no-untyped-def]
    alice, bob = imap_account.client(), imap_account.client()
    real_create = alice.create_folder

    def create_after_bob(folder: str) -> object:
        bob.create_folder(folder)  # bob's CREATE lands between alice's TRYCREATE and hers
        return real_create(folder)

    alice.create_folder = create_after_bob  # type: ignore[method-assign]
    assert append_item(alice, "Mailtriage", RAW) is not None
    bob.select_folder("Mailtriage", readonly=True)
    assert len(bob.search("ALL")) == 1  # alice's item, once
