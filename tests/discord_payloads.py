"""The JSON shapes of Discord's objects (users, members, the guild, threads, messages) as the fake server sends them.

The IDs of the one guild, its channels, roles and the bot live here, so tests and the server agree on them.
"""

from __future__ import annotations

from typing import Any

BOT_ID, APP_ID, GUILD_ID, CHANNEL_ID, OTHER_CHANNEL_ID, ADMIN_ROLE_ID = 900, 901, 100, 200, 201, 300
MANAGE_GUILD = 1 << 5
MESSAGE_CONTENT_INTENT = 1 << 15
TIMESTAMP = "2026-01-01T00:00:00+00:00"


def user(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


BOT_USER = user(BOT_ID, "docbot", bot=True)


def member(user_data: dict[str, Any] | None, roles=(), **extra: Any) -> dict[str, Any]:
    data = {"roles": [str(r) for r in roles], "joined_at": TIMESTAMP, "deaf": False, "mute": False, "flags": 0}
    if user_data is not None:
        data["user"] = user_data
    return {**data, **extra}


def application() -> dict[str, Any]:
    return {
        "id": str(APP_ID),
        "name": "docbot",
        "description": "",
        "icon": None,
        "bot_public": False,
        "bot_require_code_grant": False,
        "owner": user(1, "owner"),
        "verify_key": "0" * 64,
        "flags": 0,
        "interactions_endpoint_url": None,
    }


def guild() -> dict[str, Any]:
    def role(role_id: int, name: str, permissions: int) -> dict[str, Any]:
        return {"id": str(role_id), "name": name, "permissions": str(permissions), "position": 0, "color": 0}

    def channel(channel_id: int, name: str) -> dict[str, Any]:
        return {"id": str(channel_id), "type": 0, "name": name, "position": 0, "permission_overwrites": []}

    return {
        "id": str(GUILD_ID),
        "name": "Test server",
        "owner_id": "1",
        "unavailable": False,
        "member_count": 3,
        "roles": [role(GUILD_ID, "@everyone", 0), role(ADMIN_ROLE_ID, "docs-admin", 0)],
        "channels": [channel(CHANNEL_ID, "general"), channel(OTHER_CHANNEL_ID, "random")],
        "members": [member(BOT_USER)],
        "features": [],
        "emojis": [],
        "stickers": [],
        "threads": [],
        "joined_at": TIMESTAMP,
    }


def thread(thread_id: int, parent_id: int, name: str, owner_id: int) -> dict[str, Any]:
    metadata = {"archived": False, "locked": False, "auto_archive_duration": 1440, "archive_timestamp": TIMESTAMP}
    return {
        "id": str(thread_id),
        "type": 11,
        "guild_id": str(GUILD_ID),
        "parent_id": str(parent_id),
        "name": name,
        "owner_id": str(owner_id),
        "thread_metadata": metadata,
        "message_count": 0,
        "member_count": 1,
    }


def message(message_id: int, channel_id: int, author: dict[str, Any], content: str) -> dict[str, Any]:
    return {
        "id": str(message_id),
        "channel_id": str(channel_id),
        "author": author,
        "content": content,
        "timestamp": TIMESTAMP,
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
