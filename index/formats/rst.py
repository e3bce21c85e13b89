"""reStructuredText through docutils: sections as headings, `line N` locations.

Sphinx adds roles and directives (`:class:`, `.. versionadded::`) that plain docutils does not
know; unknown ones keep their text instead of becoming error messages (see _tolerate_unknown_markup).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docbot.index.formats.text import read_text
from docbot.index.paragraphs import Location, Paragraph, row_text

# Directives that only steer Sphinx's output and hold no text worth indexing.
SKIPPED_DIRECTIVES = {
    "currentmodule", "module", "highlight", "index", "toctree", "tabularcolumns",
    "sectionauthor", "moduleauthor", "codeauthor", "default-role", "default-domain",
}  # fmt: skip
DOCUTILS_SETTINGS = {
    "report_level": 5,  # never print a warning: the build's one line per file is the report
    "halt_level": 5,  # never raise on bad markup: keep what parses
    "warning_stream": io.StringIO(),
    "file_insertion_enabled": False,  # a corpus file must not pull in other files (.. include::)
    "raw_enabled": False,
    "input_encoding": "unicode",
    "line_length_limit": 100_000,
}


def rst_paragraphs(path: Path) -> list[Paragraph]:
    """Paragraphs of an .rst file under their section title, each at its source lines."""
    from docutils import nodes
    from docutils.core import publish_doctree

    _tolerate_unknown_markup()
    settings = {**DOCUTILS_SETTINGS, "warning_stream": io.StringIO()}
    source = read_text(path)
    source_lines = source.splitlines()
    doctree = publish_doctree(source, source_path=str(path), settings_overrides=settings)
    out: list[Paragraph] = []
    skipped = (nodes.comment, nodes.substitution_definition, nodes.target, nodes.raw)
    text_blocks = (nodes.paragraph, nodes.literal_block, nodes.line_block, nodes.doctest_block, nodes.term)

    def add(node: Any, heading: str, text: str) -> None:
        all_lines = text.strip("\n").split("\n")
        lines = [line for line in all_lines if line.strip()]
        if not lines:
            return
        first = _line_of(node)
        if first and isinstance(node, nodes.literal_block):
            first = _code_start(source_lines, first, all_lines)
        if first and len(lines) == len(all_lines):
            out.append(Paragraph.from_lines(lines, heading, first))
        else:  # blank lines inside (a code block): the block's lines as a whole
            where = Location("line", first, first + len(all_lines) - 1) if first else None
            out.append(Paragraph(" ".join(" ".join(lines).split()), heading, where))

    def walk(node: Any, heading: str) -> None:
        for child in node.children:
            if isinstance(child, nodes.system_message):
                if child.get("level", 0) >= 3:  # markup docutils could not parse: keep its source text
                    for block in child.findall(nodes.literal_block):
                        add(child, heading, " ".join(block.astext().split()))
            elif isinstance(child, skipped):
                continue
            elif isinstance(child, nodes.section):
                title = child.next_node(nodes.title)
                walk(child, " ".join(title.astext().split()) if title is not None else heading)
            elif isinstance(child, nodes.title):
                if not isinstance(child.parent, (nodes.section, nodes.document)):  # an admonition's title
                    add(child, heading, child.astext())
            elif isinstance(child, nodes.table):
                rows = list(child.findall(nodes.row))
                header = [" ".join(entry.astext().split()) for entry in rows[0].children] if rows else []
                for row in rows[1:]:
                    text = row_text(header, [entry.astext() for entry in row.children])
                    add(row.next_node(nodes.paragraph) or row, heading, text)  # rows have no line
            elif isinstance(child, text_blocks):
                add(child, heading, child.astext())
            else:  # lists, admonitions, containers, definition and field lists: their text blocks
                walk(child, heading)

    title = doctree.next_node(nodes.title)
    walk(doctree, " ".join(title.astext().split()) if title is not None and title.parent is doctree else "")
    return out


def _line_of(node: Any) -> int | None:
    """The node's source line, or its nearest ancestor's (docutils leaves some nodes without one)."""
    while node is not None and node.line is None:
        node = node.parent
    return node.line if node is not None and node.line else None


def _code_start(source_lines: list[str], line: int, code: list[str]) -> int:
    """The first source line of a code block: docutils gives `::` blocks their first line but
    `.. code::` blocks the line after their last."""
    wanted = code[0].strip()
    for number in range(max(1, line - len(code) - 1), min(line, len(source_lines)) + 1):
        if source_lines[number - 1].strip() == wanted:
            return number
    return line


def _tolerate_unknown_markup() -> None:
    """Give roles and directives docutils does not know a handler that keeps their text.

    Docutils looks both up through module functions; wrapping those is a process-wide change,
    made once: docbot uses docutils for nothing else.
    """
    from docutils import nodes
    from docutils.parsers.rst import Directive, directives, roles
    from docutils.parsers.rst.directives.body import CodeBlock

    if getattr(directives, "_docbot_tolerant", False):
        return

    class AnyOption(dict[str, Any]):
        def __missing__(self, key: str) -> Any:
            return directives.unchanged

    class UnknownDirective(Directive):
        optional_arguments = 100
        final_argument_whitespace = True
        has_content = True
        option_spec = AnyOption()

        def run(self) -> list[Any]:
            if self.name in SKIPPED_DIRECTIVES:
                return []
            out: list[Any] = []
            if self.arguments:
                out.append(nodes.paragraph(text=f"{self.name} {' '.join(self.arguments)}".strip()))
            if self.content:
                box = nodes.container()
                self.state.nested_parse(self.content, self.content_offset, box)
                out.append(box)
            return out

    def unknown_role(name: str, rawtext: str, text: str, *args: Any, **kwargs: Any) -> tuple[list[Any], list[Any]]:
        shown = text.rsplit("<", 1)[0].strip() if text.endswith(">") and "<" in text else text  # `title <target>`
        return [nodes.literal(rawtext, shown.lstrip("~!"))], []

    known_directive, known_role = directives.directive, roles.role

    def directive(name: str, *args: Any) -> tuple[Any, list[Any]]:
        found, _messages = known_directive(name, *args)  # drop the "unknown directive" message
        return (found or UnknownDirective), []

    def role(name: str, *args: Any) -> tuple[Any, list[Any]]:
        found, _messages = known_role(name, *args)
        return (found or unknown_role), []

    directives.directive, roles.role = directive, role
    # Sphinx's `.. class:: Foo(a, b)` documents a class; docutils' own `class` directive would reject it.
    directives.register_directive("class", UnknownDirective)
    directives.register_directive("code-block", CodeBlock)  # Sphinx's names for docutils' `code`
    directives.register_directive("sourcecode", CodeBlock)
    directives._docbot_tolerant = True
