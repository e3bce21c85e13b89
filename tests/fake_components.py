"""Message components on the fake Discord server: the buttons the bot sent, and a user pressing one.

Kept beside tests/fake_discord.py: the server records components with each message (Posted.components);
this module reads them and sends the INTERACTION_CREATE of type 3 that Discord sends for a press.
"""

from __future__ import annotations

from typing import Any

from tests.fake_discord import FakeDiscord, Posted

COMPONENT = 3  # INTERACTION_CREATE type of a button press
BUTTON = 2  # component type


def buttons(posted: Posted) -> list[dict[str, Any]]:
    """Every button under a message, row by row."""
    return [c for row in posted.components for c in row.get("components", []) if c.get("type") == BUTTON]


def button(posted: Posted, emoji: str) -> dict[str, Any]:
    """The button showing `emoji`; KeyError if the message has none."""
    for found in buttons(posted):
        if (found.get("emoji") or {}).get("name") == emoji:
            return found
    raise KeyError(f"no {emoji} button under message {posted.id}: {buttons(posted)}")


async def press(server: FakeDiscord, posted: Posted, emoji: str, user_id: int = 1) -> str:
    """A user presses the `emoji` button under a message the bot posted; returns the interaction token."""
    interaction_id = server.next_id()
    data = {"custom_id": button(posted, emoji)["custom_id"], "component_type": BUTTON}
    payload = server.interaction(interaction_id, COMPONENT, data, user_id, channel_id=posted.channel_id)
    payload["message"] = server.message_data(posted.id)
    await server.dispatch("INTERACTION_CREATE", payload)
    return payload["token"]
