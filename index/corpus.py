"""What the corpus folder holds: the documents to read, and everything else, named and counted.

Hidden entries, Office lock files (~$report.docx) and symlinks pointing outside the corpus are left
out without a word (by design: `.git` alone would drown the summary). Everything else that is not
read is reported: files of other types, FIFOs, sockets and devices (never opened: reading a FIFO
would block the build), and folders the system will not list.
"""

from __future__ import annotations

import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from docbot.index.documents import SUPPORTED_SUFFIXES
from docbot.index.errors import CorpusNotFolderError
from docbot.index.paragraphs import cannot_read

UNREADABLE_FOLDER = "unreadable folder"
OFFICE_LOCK_PREFIX = "~$"  # Word and PowerPoint's lock file beside an open document: not a document
NO_EXTENSION = "extensionless file"
SPECIAL_FILES = {stat.S_IFIFO: "FIFO", stat.S_IFSOCK: "socket", stat.S_IFCHR: "device", stat.S_IFBLK: "device"}


@dataclass(frozen=True)
class CorpusFile:
    path: Path  # absolute, as the system names it (undecodable bytes kept, so it can be re-read)
    relpath: str  # relative to the corpus, with forward slashes, as stored and cited (see stored_name)
    size: int
    mtime_ns: int


@dataclass
class CorpusListing:
    """The documents below a corpus folder, sorted, and what will not be read."""

    files: list[CorpusFile] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (document, reason it cannot be indexed)
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (entry, kind): ".png", "FIFO", ...


def find_corpus_files(corpus: Path) -> CorpusListing:
    """List `corpus`: supported files to read, documents that cannot be, and entries that are not documents."""
    if not corpus.exists():
        raise CorpusNotFolderError(f"corpus folder not found: {corpus}")
    if not corpus.is_dir():
        raise CorpusNotFolderError(
            f"corpus {corpus} is a file, not a folder: point --corpus at the folder of documents"
        )
    root = corpus.resolve()
    listing = CorpusListing()
    names: set[str] = set()

    def unlistable(error: OSError) -> None:
        where = Path(error.filename) if error.filename else root
        listing.ignored.append((stored_name(where, root), UNREADABLE_FOLDER))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unlistable, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if name.startswith((".", OFFICE_LOCK_PREFIX)) or (
                path.is_symlink() and not path.resolve().is_relative_to(root)
            ):
                continue
            relpath = stored_name(path, root)
            if relpath in names:  # "a\\xff.txt" spelled out beside a file whose name holds the byte
                listing.unreadable.append((relpath, "another file's name reads the same once escaped: rename one"))
                continue
            names.add(relpath)
            try:
                info = path.stat()
            except OSError as exc:  # vanished, a dangling link, no permission
                if path.suffix.lower() in SUPPORTED_SUFFIXES:
                    listing.unreadable.append((relpath, cannot_read(exc)))
                else:
                    listing.ignored.append((relpath, _type_of(path)))
                continue
            if not stat.S_ISREG(info.st_mode):
                listing.ignored.append((relpath, SPECIAL_FILES.get(stat.S_IFMT(info.st_mode), "special file")))
            elif path.suffix.lower() not in SUPPORTED_SUFFIXES:
                listing.ignored.append((relpath, _type_of(path)))
            else:
                listing.files.append(CorpusFile(path, relpath, info.st_size, info.st_mtime_ns))
    return listing


def stored_name(path: Path, root: Path) -> str:
    """`path` relative to `root` as the index stores and cites it.

    A name whose bytes are not UTF-8 (the system hands them over as lone surrogates, which no
    UTF-8 file can hold) keeps those bytes as visible escapes: b"bad\\xff.txt" -> "bad\\\\xff.txt".
    """
    relative = path.relative_to(root).as_posix()
    return os.fsencode(relative).decode("utf-8", errors="backslashreplace")


def count_kinds(kinds: list[str]) -> str:
    """Counts by kind, most frequent first: "12 .png, 3 .zip, 2 FIFOs, 1 unreadable folder"."""
    counts = sorted(Counter(kinds).items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{n} {kind if n == 1 or kind.startswith('.') else kind + 's'}" for kind, n in counts)


def _type_of(path: Path) -> str:
    return path.suffix.lower() or NO_EXTENSION
