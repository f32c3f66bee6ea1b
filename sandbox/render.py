"""Block Kit as a person reads it, in a terminal: for the demo's transcript."""

from __future__ import annotations

import re
import textwrap
from typing import Any

from sandbox.demo_support import preformatted_in

WIDTH = 96
_LINK = re.compile(r"<([#@])([A-Z0-9]+)(?:\|([^>]*))?>")


def _text(node: dict[str, Any] | None) -> str:
    if not node:
        return ""
    text = str(node.get("text", ""))
    text = _LINK.sub(lambda m: m.group(3) or f"{m.group(1)}{m.group(2)}", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _lines(text: str, indent: str = "  ") -> list[str]:
    out: list[str] = []
    in_code = False
    for raw in text.split("\n"):
        for piece in re.split(r"(```)", raw):
            if piece == "```":
                in_code = not in_code
                continue
            if not piece:
                continue
            if in_code:
                out.append(
                    f"{indent}  $ {piece}" if piece.startswith("aws ") else f"{indent}  {piece}"
                )
            else:
                out += textwrap.wrap(
                    piece, WIDTH, initial_indent=indent, subsequent_indent=indent
                ) or [indent]
    return out


def _element(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "button":
        style = f" ({element['style']})" if element.get("style") else ""
        return f"[ {_text(element.get('text'))} ]{style}"
    if kind in ("static_select", "overflow"):
        chosen = element.get("initial_option")
        options = ", ".join(_text(o.get("text")) for o in element.get("options", []))
        shown = f"{_text(chosen.get('text'))} ▾" if chosen else "choose ▾"
        return f"<{shown}>  (options: {options})"
    if kind == "plain_text_input":
        return f"[{element.get('initial_value', '')}____]"
    return f"<{kind}>"


def blocks(items: list[dict[str, Any]]) -> list[str]:
    """The lines a list of blocks shows."""
    out: list[str] = []
    for block in items:
        kind = block.get("type")
        if kind == "header":
            out += ["", f"  ## {_text(block.get('text'))}"]
        elif kind == "section":
            if block.get("text"):
                out += _lines(_text(block["text"]))
            for field in block.get("fields", []):
                out += _lines(_text(field).replace("\n", ": ", 1))
            if block.get("accessory"):
                out.append("    " + _element(block["accessory"]))
        elif kind == "context":
            for element in block.get("elements", []):
                out += _lines(_text(element), indent="  · ")
        elif kind == "rich_text":
            pieces = preformatted_in(block)
            out += [f"    {line}" for piece in pieces for line in piece.splitlines()]
        elif kind == "divider":
            out.append("  " + "─" * 40)
        elif kind == "actions":
            out.append("    " + "  ".join(_element(e) for e in block.get("elements", [])))
        elif kind == "input":
            label = _text(block.get("label"))
            out.append(f"  {label}: {_element(block.get('element', {}))}")
            if block.get("hint"):
                out += _lines(_text(block["hint"]), indent="      ")
    return out


def view(shown: dict[str, Any]) -> str:
    """A modal or Home tab, framed, with its buttons at the bottom."""
    title = _text(shown.get("title")) or "Home"
    lines = [f"┌─ {title} " + "─" * max(0, WIDTH - len(title) - 3)]
    lines += blocks(shown.get("blocks", []))
    buttons = [f"[ {_text(shown[k])} ]" for k in ("close", "submit") if shown.get(k)]
    if buttons:
        lines.append("  " + "  ".join(buttons).rjust(WIDTH - 2))
    lines.append("└" + "─" * WIDTH)
    return "\n".join(lines)


def message(shown: dict[str, Any], *, prefix: str = "") -> str:
    """A channel message (its blocks, or its text when it has none)."""
    body = blocks(shown.get("blocks") or []) or _lines(str(shown.get("text", "")))
    return "\n".join(prefix + line for line in body)
