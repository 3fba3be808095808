"""Minimal reader for Qt binary resource bundles (.rcc), as shipped by gcompris-qt-data.

Why our own: GCompris keeps its pictures and recordings inside .rcc files and no Qt tool is
available offline. The format is small: a 'qres' header with big-endian offsets to a tree of
entries, a data blob and a names table (UTF-16BE). Entries with flag 1 are zlib-compressed
(4-byte uncompressed size first).
"""
from __future__ import annotations

import struct
import zlib
from typing import Dict


def read_rcc(path: str) -> Dict[str, bytes]:
    """Return {resource path: bytes} for every file in the bundle."""
    with open(path, "rb") as fh:
        buf = fh.read()
    if buf[:4] != b"qres":
        raise ValueError(f"{path}: not a Qt resource bundle")
    version, tree, data, names = struct.unpack(">IIII", buf[4:20])
    # version >= 2 adds an 8-byte modification time to every tree node
    node_size = 22 if version >= 2 else 14

    def name_at(off: int) -> str:
        off += names
        (n,) = struct.unpack(">H", buf[off:off + 2])
        return buf[off + 6:off + 6 + 2 * n].decode("utf-16-be")

    out: Dict[str, bytes] = {}

    def walk(index: int, prefix: str) -> None:
        off = tree + index * node_size
        name_off, flags = struct.unpack(">IH", buf[off:off + 6])
        name = "" if index == 0 else name_at(name_off)
        path_here = f"{prefix}/{name}" if name else prefix
        if flags & 2:  # directory
            count, first = struct.unpack(">II", buf[off + 6:off + 14])
            for child in range(first, first + count):
                walk(child, path_here)
            return
        (doff,) = struct.unpack(">I", buf[off + 10:off + 14])
        doff += data
        (size,) = struct.unpack(">I", buf[doff:doff + 4])
        blob = buf[doff + 4:doff + 4 + size]
        if flags & 1:
            blob = zlib.decompress(blob[4:])
        elif flags & 4:
            raise ValueError(f"{path}: zstd entries are not supported ({path_here})")
        out[path_here] = blob

    walk(0, "")
    return out
