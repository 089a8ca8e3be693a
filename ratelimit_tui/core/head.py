"""Read a response head from text: what `curl -i` / `curl -D -` print, bare `Name: value` lines,
or a JSON object of headers. Used by `ratelimit-tui inspect`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_STATUS_LINE = re.compile(r"HTTP/\d(?:\.\d)?\s+(\d{3})\b.*")
_HEADER_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)")


class HeadError(ValueError):
    """The input is not a response head; the message says why, in one line."""


@dataclass(frozen=True)
class ResponseHead:
    status: int | None
    headers: list[tuple[str, str]]
    body: str | None


def parse_head(data: bytes) -> ResponseHead:
    if not data.strip():
        raise HeadError("empty input: expected a response head (curl -i output, "
                        "'Name: value' lines, or a JSON object of headers)")
    if b"\x00" in data:
        raise HeadError("binary input: expected a text response head")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("latin-1")  # header values may be ISO-8859-1 (RFC 9110)
        except UnicodeDecodeError as exc:  # pragma: no cover - latin-1 decodes all bytes
            raise HeadError("undecodable input") from exc
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        return _from_json(stripped)
    return _from_lines(stripped.splitlines())


def _from_json(text: str) -> ResponseHead:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HeadError(f"invalid JSON: {exc}") from exc
    except RecursionError:
        raise HeadError("invalid JSON: nested too deeply") from None
    status = None
    if isinstance(data.get("headers"), dict):  # {"status": 429, "headers": {...}}
        status = data.get("status") if isinstance(data.get("status"), int) else None
        data = data["headers"]
    headers = [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]
    if not headers:
        raise HeadError("the JSON object holds no headers")
    return ResponseHead(status, headers, None)


def _from_lines(lines: list[str]) -> ResponseHead:
    """The last of the heads at the start of the input (curl -i -L prints one per redirect, and
    a '100 Continue' head), then the body."""
    lines = [line.rstrip("\r") for line in lines]
    blocks: list[list[str]] = []
    i = 0
    while i < len(lines):
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i == len(lines) or (blocks and not _STATUS_LINE.fullmatch(lines[i].strip())):
            break  # the body starts here
        start = i
        while i < len(lines) and lines[i].strip():
            i += 1
        blocks.append(lines[start:i])
    if not blocks:
        raise HeadError("no headers found in the input")
    block = blocks[-1]
    status = None
    if match := _STATUS_LINE.fullmatch(block[0].strip()):
        status, block = int(match.group(1)), block[1:]
    headers: list[tuple[str, str]] = []
    for number, line in enumerate(block, 1):
        if line[0] in " \t" and headers:  # obsolete line folding
            headers[-1] = (headers[-1][0], f"{headers[-1][1]} {line.strip()}")
        elif match := _HEADER_LINE.fullmatch(line):
            headers.append((match.group(1), match.group(2).strip()))
        else:
            raise HeadError(f"not a response head: {line[:60]!r} is not 'Name: value' "
                            f"(line {number} of the head)")
    body = "\n".join(lines[i:]).strip()
    return ResponseHead(status, headers, body or None)
