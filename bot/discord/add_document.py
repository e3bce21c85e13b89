"""/add: a moderator's attached file becomes a corpus document, indexed at once.

Everything about the upload is checked before a byte is written: the name (made safe: no folders,
no hidden or lock-file names, no control characters, bounded length), the type (`add_types`,
default every supported format) and the size (`add_max_bytes`). The file is downloaded through
discord.py from the URL Discord gives; LiveIndex then checks it with its converter, saves it in one
step and indexes it. Each outcome is one reply that says what was indexed or why not.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import unicodedata

import discord

from docbot.errors import ConfigError, DocbotError
from docbot.index.documents import SUPPORTED_SUFFIXES
from docbot.live_index import DocumentExistsError, DocumentNotIndexedError, LiveIndex
from docbot.settings import Settings

log = logging.getLogger("docbot.discord")

MAX_NAME_CHARS = 100  # a file name people can still read in a sources list
MAX_NAME_BYTES = 200  # below the 255-byte limit of common file systems, with room for a temporary prefix
_NOT_NAME_START = ".~$ -"  # hidden files and Office lock files (~$x.docx) are left out of the corpus


class UploadRefusedError(DocbotError):
    """An attached file /add will not take: its name, type or size."""


def allowed_types(settings: Settings) -> frozenset[str]:
    """The suffixes /add takes: `add_types` (".md" or "md"), or every supported format. Raises ConfigError."""
    wanted = {"." + suffix.lower().lstrip(".") for suffix in settings.add_types}
    unknown = sorted(wanted - SUPPORTED_SUFFIXES)
    if unknown:
        raise ConfigError(f"add_types names formats docbot cannot read: {', '.join(unknown)}")
    return frozenset(wanted or SUPPORTED_SUFFIXES)


def safe_file_name(name: str) -> str:
    """`name` as a plain file name inside the corpus: the last path part, printable, bounded."""
    base = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().lstrip(_NOT_NAME_START)
    stem, suffix = os.path.splitext(base)
    stem = stem[: MAX_NAME_CHARS - len(suffix)].rstrip()
    while stem and len((stem + suffix).encode()) > MAX_NAME_BYTES:
        stem = stem[:-1]
    if not stem or base in (".", ".."):
        raise UploadRefusedError("that file name cannot be used: give the file a name with letters in it")
    return stem + suffix


def check_upload(name: str, size: int, settings: Settings) -> None:
    """Raise UploadRefusedError if a file of this name and size may not be added."""
    types = allowed_types(settings)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in types:
        kind = f"{suffix} files" if suffix else "files without a type"
        raise UploadRefusedError(f"{kind} cannot be added; I take {', '.join(sorted(types))}")
    if size > settings.add_max_bytes:
        raise UploadRefusedError(f"{name} is {_size(size)}, over the {_size(settings.add_max_bytes)} limit")


async def add_attachment(live: LiveIndex, attachment: discord.Attachment, replace: bool, settings: Settings) -> str:
    """Save and index an attached file; the reply saying what was indexed, or why not."""
    try:
        name = safe_file_name(attachment.filename)
        check_upload(name, attachment.size, settings)
        if not replace and live.has_document(name):
            raise DocumentExistsError(name)  # told before a download, not after
        data = await attachment.read()
        check_upload(name, len(data), settings)  # the size Discord announced may not be the size sent
        chunks = await asyncio.to_thread(live.add_document, name, data, replace)
    except discord.HTTPException as exc:
        log.error("could not download attachment %r: %s", attachment.filename[:80], exc)
        return "⚠️ I could not download the file from Discord: try again."
    except DocumentExistsError:
        return f"⚠️ Not added: **{_shown(name)}** is already in the documents. To replace it, use `replace: True`."
    except DocumentNotIndexedError as exc:
        return f"⚠️ Saved **{_shown(name)}**, but indexing failed: {_shown(str(exc))}"
    except DocbotError as exc:
        return f"⚠️ Not added: {_shown(str(exc))}."
    log.info("added %s (%d chunks)", name, chunks)
    did = "Replaced" if replace else "Added"
    return f"📄 {did} **{_shown(name)}**: {chunks} chunk{'s' if chunks != 1 else ''} indexed. Ask away."


def _shown(text: str) -> str:
    """Text quoted from a file name, shown as written (no Discord formatting)."""
    return discord.utils.escape_markdown(discord.utils.escape_mentions(text))


def _size(count: int) -> str:
    """A byte count as people say it: "20 MB", "1.5 KB", "300 bytes"."""
    for unit, scale in (("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"
