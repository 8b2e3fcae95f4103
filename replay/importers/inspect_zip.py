"""Reading the zip of an inspect_ai ``.eval`` log: a member by name (with :mod:`zipfile`, never
extracted), and, for a zip cut short (no central directory), entry by entry from its local
headers up to the break."""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from understudy.errors import LogFormatError
from understudy.replay.importers import common, fast_json
from understudy.replay.importers.common import json_problem, json_type_name, log_error
from understudy.replay.importers.file_head import ZIP_MAGIC

__all__ = ["ZIP_MAGIC", "expect_object", "local_entries", "parse_member", "read_member"]


def read_member(path: Path, archive: zipfile.ZipFile, name: str) -> Any:
    """The JSON of zip member ``name``, refused when larger than ``MAX_JSON_BYTES``."""
    try:
        info = archive.getinfo(name)
        if info.file_size > common.MAX_JSON_BYTES:
            raise log_error(path, f"{info.file_size:,} bytes is too large", where=name)
        data = archive.read(info)
    except (
        zipfile.BadZipFile,
        zlib.error,
        OSError,
        EOFError,
        ValueError,
        KeyError,
        NotImplementedError,  # a damaged header naming an unknown compression method
    ) as exc:
        if isinstance(exc, LogFormatError):
            raise
        raise log_error(path, f"cannot read zip entry: {exc}", where=name) from None
    return parse_member(path, name, data)


def local_entries(handle: IO[bytes]) -> Iterator[tuple[str, bytes, str | None]]:
    """``(name, data, problem)`` for each local entry of a zip, read from the start."""
    while True:
        signature = handle.read(4)
        if signature != ZIP_MAGIC:
            return  # central directory (or the end): no more entries
        fixed = handle.read(26)
        if len(fixed) < 26:
            yield "?", b"", "entry header cut short"
            return
        (_, flags, method, _, _, _, size, plain_size, name_len, extra_len) = struct.unpack(
            "<HHHHHIIIHH", fixed
        )
        raw_name = handle.read(name_len)
        name = raw_name.decode("utf-8", errors="replace")
        handle.read(extra_len)
        if flags & 0x08 or size == 0xFFFFFFFF:
            yield name, b"", "entry sizes not in its local header (streamed zip)"
            return
        if size > common.MAX_JSON_BYTES or plain_size > common.MAX_JSON_BYTES:
            yield name, b"", "entry too large"
            return
        body = handle.read(size)
        if len(body) < size:
            yield name, b"", "entry data cut short"
            return
        if method == 0:
            data = body
        elif method == 8:
            try:
                data = zlib.decompressobj(-15).decompress(body, plain_size + 1)
            except zlib.error as exc:
                yield name, b"", f"cannot inflate: {exc}"
                return
        else:
            yield name, b"", f"unsupported compression method {method}"
            return
        yield name, data, None


def parse_member(path: Path, name: str, data: bytes) -> Any:
    """The JSON of a member's bytes; errors name the member."""
    try:
        return fast_json.loads(data.decode("utf-8"), data)
    except UnicodeDecodeError as exc:
        raise log_error(path, f"not UTF-8 text ({exc.reason})", where=name) from None
    except json.JSONDecodeError as exc:
        raise log_error(
            path, f"invalid JSON: {json_problem(exc, with_line=True)}", where=name
        ) from None
    except RecursionError:
        raise log_error(path, "JSON nested too deeply", where=name) from None


def expect_object(path: Path, where: str, value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an error naming ``where``."""
    if not isinstance(value, dict):
        raise log_error(path, f"expected an object, got {json_type_name(value)}", where=where)
    return value
