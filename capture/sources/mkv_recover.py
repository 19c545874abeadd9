"""The depth track of an Azure Kinect MKV read straight from the file, up to any damage.

The Azure Kinect SDK cannot open a recording that was cut short (it needs the Cues at the
end), and on some cuts it aborts the whole process, so every frame would be lost. This
module walks the Matroska (EBML) structure itself, as k4arecord writes it: EBML header,
Segment, Info (TimecodeScale), Tracks (the track named ``DEPTH``, codec
``V_MS/VFW/FOURCC`` with a BITMAPINFOHEADER whose FOURCC is ``b16g``: 16-bit big-endian
grayscale), Attachments (``calibration.json``), Tags (``K4A_START_OFFSET_NS``,
``K4A_DEPTH_MODE``) and Clusters (Timecode, then SimpleBlock or BlockGroup/Block).

``scan`` indexes the depth frames. At an element among the clusters that makes no sense it
looks for the next cluster and goes on from there (``skipped``: the frames in between are
lost, the rest kept); at the end of the file, or damage it cannot get past, it stops, and
that is its ``damage``. Every cluster (and header element) that starts with a CRC-32, as
k4arecord writes them, is checked against it; a mismatch keeps the frames but says they may
be wrong (``crc_bad``), and the SDK is then not given the file (it does not check them). With
``blocks=False`` it only checks the top level (cheap), to decide whether the SDK may be
given the file. Sizes are bounded by the file and every step moves forward, so a hostile
file can neither hang it nor make it allocate much; bad input raises only CorruptFile.
The device serial number tag is never read.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

from capture.errors import CorruptFile

EBML_MAGIC = b"\x1a\x45\xdf\xa3"

# element IDs (with their length marker, as written)
EBML, DOC_TYPE = 0x1A45DFA3, 0x4282
SEGMENT, SEEK_HEAD, INFO, TRACKS, ATTACHMENTS, TAGS = 0x18538067, 0x114D9B74, 0x1549A966, 0x1654AE6B, 0x1941A469, 0x1254C367
CLUSTER, CUES, CHAPTERS, VOID, CRC32 = 0x1F43B675, 0x1C53BB6B, 0x1043A770, 0xEC, 0xBF
TIMECODE_SCALE = 0x2AD7B1
TRACK_ENTRY, TRACK_NUMBER, TRACK_UID, NAME, CODEC_ID, CODEC_PRIVATE = 0xAE, 0xD7, 0x73C5, 0x536E, 0x86, 0x63A2
DEFAULT_DURATION, VIDEO, PIXEL_WIDTH, PIXEL_HEIGHT = 0x23E383, 0xE0, 0xB0, 0xBA
ATTACHED_FILE, FILE_NAME, FILE_DATA = 0x61A7, 0x466E, 0x465C
TAG, SIMPLE_TAG, TAG_NAME, TAG_STRING = 0x7373, 0x67C8, 0x45A3, 0x4487
TIMECODE, SIMPLE_BLOCK, BLOCK_GROUP, BLOCK = 0xE7, 0xA3, 0xA0, 0xA1

HEADER_NAMES = {INFO: "Info", TRACKS: "Tracks", ATTACHMENTS: "Attachments", TAGS: "Tags"}
TOP_LEVEL = frozenset({SEEK_HEAD, INFO, TRACKS, ATTACHMENTS, TAGS, CLUSTER, CUES, CHAPTERS, EBML, SEGMENT})
CALIBRATION_FILE = "calibration.json"
# tags read (an allow-list: K4A_DEVICE_SERIAL_NUMBER is never read)
WANTED_TAGS = frozenset({"K4A_START_OFFSET_NS", "K4A_DEPTH_MODE", "K4A_COLOR_MODE"})
MAX_SMALL = 1 << 20  # the largest header payload read into memory (names, tags, calibration)


@dataclass(frozen=True)
class DepthTrack:
    number: int
    width: int
    height: int
    default_duration_ns: int | None = None

    @property
    def frame_bytes(self) -> int:
        return self.width * self.height * 2


@dataclass(frozen=True)
class DepthBlock:
    offset: int  # file offset of the pixels
    size: int
    time_ns: int  # recording time (cluster + block timecode), before the start offset


@dataclass(frozen=True)
class Damage:
    offset: int  # where the unreadable element starts
    reason: str
    cut_short: bool  # the file ends too early (True) or holds bytes that make no sense


@dataclass
class MkvIndex:
    path: Path
    file_size: int
    declared_end: int | None = None  # where the Segment says the file ends (None: unknown size)
    timecode_scale_ns: int = 1_000_000
    track: DepthTrack | None = None
    blocks: list[DepthBlock] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    calibration: bytes | None = None
    has_cues: bool = False
    damage: Damage | None = None  # the first damage
    # each damaged spot the reader went past: (its Damage, the offset where the next
    # cluster was found, how many blocks were indexed before it)
    skipped: list[tuple[Damage, int, int]] = field(default_factory=list)
    crc_checked: int = 0  # clusters whose CRC-32 matched
    # clusters whose CRC-32 did not: (offset, first block, end block) of their frames
    crc_bad: list[tuple[int, int, int]] = field(default_factory=list)
    header_crc_bad: list[str] = field(default_factory=list)  # header elements whose CRC-32 did not match
    unknown_size_clusters: bool = False  # written live and never closed: the SDK misreads these
    last_cluster_ns: int | None = None  # time of the last cluster reached

    @property
    def intact(self) -> bool:
        """Nothing wrong at the level scanned, and the index a finished recording ends with is there."""
        return (self.damage is None and not self.skipped and not self.crc_bad and not self.header_crc_bad
                and self.has_cues)

    @property
    def sdk_safe(self) -> bool:
        """Whether the SDK may be given the file: it aborts the process on some cut files and
        silently stops early in clusters of unknown size."""
        return self.intact and not self.unknown_size_clusters

    @property
    def start_offset_ns(self) -> int:
        try:
            return max(0, int(self.tags.get("K4A_START_OFFSET_NS", "0")))
        except ValueError:
            return 0

    def device_ts_us(self, block: DepthBlock) -> int:
        """The SDK's depth timestamp of a frame: recording time plus the start offset."""
        return (block.time_ns + self.start_offset_ns) // 1000

    def stopped_s(self) -> float:
        """Recording time of the last frame recovered (else of the last cluster reached)."""
        if self.blocks:
            return self.blocks[-1].time_ns / 1e9
        return (self.last_cluster_ns or 0) / 1e9

    def problem(self) -> str | None:
        """What is wrong with the file and what was kept, in plain words; None if nothing."""
        structure = self._structure_problem()
        if self.header_crc_bad:
            head = (f"{self.path.name}: its {', '.join(self.header_crc_bad)} do not match their CRC-32, so they "
                    "changed on the disk: the recording's settings read from them (frame size, times, depth mode, "
                    "calibration) may be wrong")
            structure = head if structure is None else f"{structure}. Also: {head}"
        bad = [(at, b0, b1) for at, b0, b1 in self.crc_bad if b1 > b0]
        if not bad:
            return structure
        times = ", ".join(f"{self.blocks[b0].time_ns / 1e9:.1f} s" if b1 - b0 == 1 else
                          f"{self.blocks[b0].time_ns / 1e9:.1f}-{self.blocks[b1 - 1].time_ns / 1e9:.1f} s"
                          for _, b0, b1 in bad[:5]) + (", …" if len(bad) > 5 else "")
        k = sum(b1 - b0 for _, b0, b1 in bad)
        crc = (f"{self.path.name}: {len(bad)} cluster(s) (the first at byte {bad[0][0]:,}) do not match their CRC-32, "
               f"so bytes in them changed on the disk: the {k} depth frame(s) they hold (at {times}) are shown but "
               "may be wrong")
        return crc if structure is None else f"{structure}. Also: {crc}"

    def _structure_problem(self) -> str | None:
        name, n = self.path.name, len(self.blocks)
        of = f" of {self.declared_end:,}" if self.declared_end and self.declared_end > self.file_size else ""
        when = f"after {self.stopped_s():.1f} s of recording"
        frames, were = ("depth frames", "were") if n != 1 else ("depth frame", "was")
        kept = f"{n} {frames} before the damage {were} recovered; the rest is lost"
        d = self.damage
        if n == 0 and d is not None:
            where = (f"truncated: cut short at byte {self.file_size:,}{of}" if d.cut_short
                     else f"damaged at byte {d.offset:,} of {self.file_size:,} ({d.reason})")
            before = "its track list" if self.track is None else "its first complete depth frame"
            return f"{name} is {where}, before {before}: no depth frame can be recovered"
        if self.skipped:  # read past damaged spots: say each gap in recording time
            gaps = []
            for dm, _, k in self.skipped:
                t0 = self.blocks[k - 1].time_ns / 1e9 if k else 0.0
                t1 = self.blocks[k].time_ns / 1e9 if k < n else None
                span = f"{t0:.1f} s to {t1:.1f} s" if t1 is not None else f"{t0:.1f} s to the end"
                gaps.append(f"at byte {dm.offset:,} ({dm.reason}): the frames from {span} are lost")
            end = ""
            if d is not None and d.cut_short:
                end = f"; it is also cut short at byte {self.file_size:,}{of}"
            elif d is not None:
                end = f"; it is damaged again at byte {d.offset:,} ({d.reason}) and nothing after that is read"
            elif not self.has_cues:
                end = "; it ends without the index a finished recording has (it was not closed)"
            return (f"{name} is damaged {'; '.join(gaps)}{end}. Reading went on after each damaged spot: "
                    f"{n} {frames} recovered ({when})")
        if d is not None and d.cut_short:
            return f"{name} is truncated: cut short at byte {self.file_size:,}{of} ({when}): {kept}"
        if d is not None:
            return f"{name} is damaged at byte {d.offset:,} of {self.file_size:,} ({d.reason}; {when}): {kept}"
        if not self.has_cues:
            return (f"{name} ends at byte {self.file_size:,} without the index a finished recording has "
                    f"(it was not closed; {when}): {n} {frames} recovered; "
                    f"anything recorded after that is lost")
        return None


class _Damaged(Exception):
    def __init__(self, offset: int, reason: str, cut_short: bool = False) -> None:
        super().__init__(reason)
        self.damage = Damage(offset, reason, cut_short)


@dataclass(frozen=True)
class _Element:
    id: int
    start: int  # offset of the ID
    data: int  # offset of the payload
    size: int | None  # None: unknown size (a live-written Segment or Cluster)

    def end(self, bound: int) -> int:
        return bound if self.size is None else self.data + self.size


class _File:
    """Bounded reads of EBML elements."""

    def __init__(self, f: BinaryIO, size: int) -> None:
        self.f, self.size = f, size

    def read(self, pos: int, n: int) -> bytes:
        if pos + n > self.size:
            raise _Damaged(pos, "the file ends inside an element", cut_short=True)
        self.f.seek(pos)
        data = self.f.read(n)
        if len(data) != n:
            raise _Damaged(pos, "the file ends inside an element", cut_short=True)
        return data

    def element(self, pos: int, bound: int) -> _Element:
        """The element header at ``pos``; its payload must end by ``bound`` (the parent's end)."""
        head = self.read(pos, min(12, self.size - pos)) if pos < self.size else b""
        if not head:
            raise _Damaged(pos, "the file ends inside an element", cut_short=True)
        n = _vint_length(head[0], 4)
        if n == 0:
            raise _Damaged(pos, f"invalid element ID byte 0x{head[0]:02x}")
        if len(head) < n + 1:
            raise _Damaged(pos, "the file ends inside an element header", cut_short=True)
        eid = int.from_bytes(head[:n], "big")
        m = _vint_length(head[n], 8)
        if m == 0:
            raise _Damaged(pos, f"invalid element size byte 0x{head[n]:02x}")
        if len(head) < n + m:
            raise _Damaged(pos, "the file ends inside an element header", cut_short=True)
        raw = int.from_bytes(head[n : n + m], "big") & ((1 << (7 * m)) - 1)
        data = pos + n + m
        size: int | None = None if raw == (1 << (7 * m)) - 1 else raw
        if size is not None and data + size > bound:
            if bound >= self.size and data + size > self.size:
                raise _Damaged(pos, "an element runs past the end of the file", cut_short=True)
            raise _Damaged(pos, f"element 0x{eid:x} of {size:,} bytes is larger than what holds it")
        return _Element(eid, pos, data, size)

    def children(self, start: int, end: int) -> Iterator[_Element]:
        """Known-size children of the payload ``start..end``."""
        pos = start
        while pos < end:
            el = self.element(pos, end)
            if el.size is None:
                raise _Damaged(pos, f"element 0x{el.id:x} has an unknown size where that is not allowed")
            yield el
            pos = el.data + el.size

    def payload(self, el: _Element, limit: int = MAX_SMALL) -> bytes:
        assert el.size is not None
        if el.size > limit:
            raise _Damaged(el.start, f"element 0x{el.id:x} of {el.size:,} bytes is implausibly large")
        return self.read(el.data, el.size)

    def uint(self, el: _Element) -> int:
        if el.size is None or el.size > 8:
            raise _Damaged(el.start, f"integer element 0x{el.id:x} has {el.size} bytes")
        return int.from_bytes(self.read(el.data, el.size), "big")

    def text(self, el: _Element) -> str:
        return self.payload(el).rstrip(b"\0").decode("utf-8", "replace")


def _vint_length(first: int, longest: int) -> int:
    """Bytes of a variable-length integer from its first byte; 0 if invalid."""
    for n in range(1, longest + 1):
        if first & (0x80 >> (n - 1)):
            return n
    return 0


def _block_header(data: bytes) -> tuple[int, int, int, int]:
    """(track number, relative timecode, flags, header length) of a Block/SimpleBlock."""
    n = _vint_length(data[0], 8) if data else 0
    if n == 0 or len(data) < n + 3:
        raise ValueError("bad block header")
    track = int.from_bytes(data[:n], "big") & ((1 << (7 * n)) - 1)
    rel = int.from_bytes(data[n : n + 2], "big", signed=True)
    return track, rel, data[n + 2], n + 3


class _Scanner:
    def __init__(self, f: _File, index: MkvIndex, blocks: bool) -> None:
        self.f, self.ix, self.want_blocks = f, index, blocks

    def header(self) -> int:
        """Check the EBML header; return where the Segment starts."""
        f = self.f
        el = f.element(0, f.size)
        if el.id != EBML or el.size is None:
            raise CorruptFile(f"{self.ix.path} is not a Matroska (.mkv) file")
        doc = next((f.text(c) for c in f.children(el.data, el.data + el.size) if c.id == DOC_TYPE), "matroska")
        if doc not in ("matroska", "webm"):
            raise CorruptFile(f"{self.ix.path} is an EBML file of type {doc!r}, not a Matroska (.mkv) recording")
        return el.data + el.size

    def segment(self, pos: int) -> None:
        f, ix = self.f, self.ix
        seg = f.element(pos, f.size + (1 << 62))  # the Segment may claim more than the file has
        if seg.id != SEGMENT:
            raise CorruptFile(f"{ix.path} has no Matroska segment after its header")
        ix.declared_end = None if seg.size is None else seg.data + seg.size
        end = seg.end(f.size)
        pos = seg.data
        while pos < min(end, f.size):
            try:
                el = f.element(pos, end)
                if el.id == CLUSTER:
                    pos = self.cluster(el, end)
                    continue
            except _Damaged as exc:
                if exc.damage.cut_short or not self.want_blocks or self.ix.track is None:
                    raise
                pos = self.resync(exc.damage, end)  # a damaged spot among the clusters: go on after it
                continue
            if el.size is None:
                raise _Damaged(pos, f"top-level element 0x{el.id:x} has an unknown size")
            if el.data + el.size > f.size:
                raise _Damaged(pos, "an element runs past the end of the file", cut_short=True)
            if el.id in HEADER_NAMES and not self.check_crc(el):
                ix.header_crc_bad.append(HEADER_NAMES[el.id])
            if el.id == INFO:
                self.info(el)
            elif el.id == TRACKS:
                self.tracks(el)
            elif el.id == ATTACHMENTS:
                self.attachments(el)
            elif el.id == TAGS:
                self.tags(el)
            elif el.id == CUES:
                ix.has_cues = True
            pos = el.data + el.size
        if ix.declared_end is not None and ix.declared_end > f.size:
            raise _Damaged(f.size, "the file ends before its segment does", cut_short=True)

    def check_crc(self, el: _Element) -> bool:
        """Whether a cluster matches its CRC-32, when its first child is one (k4arecord writes
        one in every cluster: the CRC-32 of the rest of the cluster, little-endian). A
        mismatch means bytes of it, pixels included, changed on the disk; which ones is not
        known, so its frames are kept and said to be doubtful (one capture's cluster also
        holds its colour and IR images: the depth frame may well be intact)."""
        f = self.f
        if el.size is None:
            return True  # written live: no checksum
        first = f.element(el.data, el.data + el.size)
        if first.id != CRC32 or first.size != 4:
            return True
        stored = int.from_bytes(f.read(first.data, 4), "little")
        # a cluster cut short is checked over what is left: it cannot match, and its frames
        # cannot be vouched for
        crc, pos, end = 0, first.data + 4, min(el.data + el.size, f.size)
        while pos < end:
            n = min(1 << 20, end - pos)
            crc = zlib.crc32(f.read(pos, n), crc)
            pos += n
        if crc != stored:
            return False
        self.ix.crc_checked += 1
        return True

    def resync(self, damage: Damage, seg_end: int) -> int:
        """The offset of the next cluster after a damaged spot (its 4-byte ID, then a cluster
        header that parses); raises the damage again when there is none. The search starts
        after the damaged element, so every resumption moves forward: linear in the file."""
        f, ix = self.f, self.ix
        marker = CLUSTER.to_bytes(4, "big")
        pos = damage.offset + 1
        limit = min(seg_end, f.size)
        chunk = 1 << 20
        while pos < limit - 4:
            n = min(chunk, limit - pos)
            f.f.seek(pos)
            data = f.f.read(n)
            at = data.find(marker)
            while at >= 0:
                cand = pos + at
                try:
                    el = f.element(cand, seg_end)
                except _Damaged:
                    el = None
                if el is not None and el.id == CLUSTER and (el.size is None or el.size > 0):
                    ix.skipped.append((damage, cand, len(ix.blocks)))
                    return cand
                at = data.find(marker, at + 1)
            if n < chunk:
                break
            pos += n - 3  # a marker across the chunk boundary is found in the next chunk
        raise _Damaged(damage.offset, damage.reason, damage.cut_short)

    def info(self, el: _Element) -> None:
        for c in self.f.children(el.data, el.data + (el.size or 0)):
            if c.id == TIMECODE_SCALE:
                scale = self.f.uint(c)
                if not 0 < scale <= 10**9:
                    raise _Damaged(c.start, f"a TimecodeScale of {scale} ns")
                self.ix.timecode_scale_ns = scale

    def tracks(self, el: _Element) -> None:
        f = self.f
        for entry in f.children(el.data, el.data + (el.size or 0)):
            if entry.id != TRACK_ENTRY:
                continue
            fields: dict[int, _Element] = {c.id: c for c in f.children(entry.data, entry.data + (entry.size or 0))}
            if NAME not in fields or f.text(fields[NAME]) != "DEPTH" or TRACK_NUMBER not in fields:
                continue
            codec = f.text(fields[CODEC_ID]) if CODEC_ID in fields else "?"
            private = f.payload(fields[CODEC_PRIVATE]) if CODEC_PRIVATE in fields else b""
            if codec != "V_MS/VFW/FOURCC" or len(private) < 40:
                raise CorruptFile(f"{self.ix.path}: the depth track has codec {codec!r}, not the Azure Kinect's b16g")
            fourcc = private[16:20]
            if fourcc != b"b16g":
                raise CorruptFile(f"{self.ix.path}: the depth track is {fourcc!r}, not 16-bit b16g depth")
            width = int.from_bytes(private[4:8], "little", signed=True)
            height = abs(int.from_bytes(private[8:12], "little", signed=True))
            if not (0 < width <= 8192 and 0 < height <= 8192):
                raise CorruptFile(f"{self.ix.path}: the depth track claims {width}x{height} pixels")
            dur = f.uint(fields[DEFAULT_DURATION]) if DEFAULT_DURATION in fields else None
            self.ix.track = DepthTrack(f.uint(fields[TRACK_NUMBER]), width, height, dur or None)

    def attachments(self, el: _Element) -> None:
        f = self.f
        for att in f.children(el.data, el.data + (el.size or 0)):
            if att.id != ATTACHED_FILE:
                continue
            fields = {c.id: c for c in f.children(att.data, att.data + (att.size or 0))}
            if FILE_NAME not in fields or FILE_DATA not in fields or f.text(fields[FILE_NAME]) != CALIBRATION_FILE:
                continue
            if (fields[FILE_DATA].size or 0) <= MAX_SMALL:  # an implausible one is left out, not fatal
                self.ix.calibration = f.payload(fields[FILE_DATA])

    def tags(self, el: _Element) -> None:
        f = self.f
        for tag in f.children(el.data, el.data + (el.size or 0)):
            if tag.id != TAG:
                continue
            for st in f.children(tag.data, tag.data + (tag.size or 0)):
                if st.id != SIMPLE_TAG:
                    continue
                fields = {c.id: c for c in f.children(st.data, st.data + (st.size or 0))}
                if TAG_NAME in fields and TAG_STRING in fields:
                    name = f.text(fields[TAG_NAME])
                    if name in WANTED_TAGS:
                        self.ix.tags[name] = f.text(fields[TAG_STRING])

    def cluster(self, el: _Element, seg_end: int) -> int:
        """Index a cluster's depth blocks; return where the next top-level element starts."""
        f = self.f
        end = el.end(seg_end)
        if el.size is not None and not self.want_blocks:
            if el.data + el.size > f.size:
                raise _Damaged(el.start, "a cluster runs past the end of the file", cut_short=True)
            if not self.check_crc(el):  # before the SDK is given the file: it does not check them
                self.ix.crc_bad.append((el.start, 0, 0))
            return el.data + el.size
        crc_ok = self.check_crc(el)
        first_block = len(self.ix.blocks)
        try:
            return self._walk_cluster(el, end)
        finally:  # also when the cluster is cut short: its frames are said to be doubtful
            if not crc_ok:
                self.ix.crc_bad.append((el.start, first_block, len(self.ix.blocks)))

    def _walk_cluster(self, el: _Element, end: int) -> int:
        f = self.f
        timecode: int | None = None
        self.ix.unknown_size_clusters |= el.size is None
        pos = el.data
        while pos < min(end, f.size):
            c = f.element(pos, end)
            if el.size is None and c.id in TOP_LEVEL:
                return pos  # an unknown-size cluster ends where the next top-level element starts
            if c.size is None:
                raise _Damaged(pos, f"element 0x{c.id:x} in a cluster has an unknown size")
            if c.id == TIMECODE:
                timecode = f.uint(c)
                self.ix.last_cluster_ns = timecode * self.ix.timecode_scale_ns
            elif c.id in (SIMPLE_BLOCK, BLOCK_GROUP):
                if c.data + c.size > f.size:
                    raise _Damaged(pos, "the file ends inside a frame", cut_short=True)
                if self.want_blocks:
                    inner = [c] if c.id == SIMPLE_BLOCK else f.children(c.data, c.data + c.size)
                    blk = next((b for b in inner if b.id in (SIMPLE_BLOCK, BLOCK)), None)
                    if blk is not None:
                        self.block(blk, timecode)
            pos = c.data + c.size
        if el.size is not None and el.data + el.size > f.size:
            raise _Damaged(f.size, "the file ends inside a cluster", cut_short=True)
        return end

    def block(self, el: _Element, timecode: int | None) -> None:
        track = self.ix.track
        if track is None:  # no depth track (yet): nothing to index
            return
        assert el.size is not None
        try:
            number, rel, flags, hlen = _block_header(self.f.read(el.data, min(el.size, 11)))
        except ValueError:
            raise _Damaged(el.start, "a frame with an unreadable block header") from None
        if number != track.number:
            return
        if timecode is None:
            raise _Damaged(el.start, "a frame before its cluster's timecode")
        if flags & 0x06:
            raise _Damaged(el.start, "a laced depth block (the Azure Kinect recorder writes none)")
        size = el.size - hlen
        if size != track.frame_bytes:
            need = f"{track.width}x{track.height} needs {track.frame_bytes:,}"
            raise _Damaged(el.start, f"a depth frame of {size:,} bytes where {need}")
        t = (timecode + rel) * self.ix.timecode_scale_ns
        self.ix.blocks.append(DepthBlock(el.data + hlen, size, t))


def scan(path: str | os.PathLike[str], *, blocks: bool = True) -> MkvIndex:
    """Index the depth frames of ``path`` up to the first damage (``blocks=False``: the top
    level only). Raises CorruptFile when not even the EBML header and Segment can be read,
    or the depth track is not 16-bit b16g; ``track`` is None when there is no depth track."""
    p = Path(path)
    try:
        f = open(p, "rb")
    except OSError as exc:
        raise CorruptFile(f"cannot read {p}: {exc.strerror or exc}") from exc
    with f:
        size = os.fstat(f.fileno()).st_size
        ix = MkvIndex(p, size)
        if f.read(4) != EBML_MAGIC:
            raise CorruptFile(f"{p} is not a Matroska (.mkv) file")
        sc = _Scanner(_File(f, size), ix, blocks)
        try:
            seg_start = sc.header()
        except _Damaged as exc:
            raise CorruptFile(f"{p} is truncated or damaged at its start: its Matroska header cannot be read "
                              f"({exc.damage.reason})") from None
        except OSError as exc:
            raise CorruptFile(f"cannot read {p}: {exc.strerror or exc}") from exc
        try:
            sc.segment(seg_start)
        except _Damaged as exc:
            ix.damage = exc.damage
        except OSError as exc:
            ix.damage = Damage(seg_start, f"read error: {exc.strerror or exc}", False)
    return ix


class DepthReader:
    """Decodes the frames ``scan`` found; keeps the file open between reads."""

    def __init__(self, index: MkvIndex) -> None:
        if index.track is None:
            raise CorruptFile(f"{index.path} has no depth track")
        self.index, self.track = index, index.track
        try:
            self._f: BinaryIO | None = open(index.path, "rb")
        except OSError as exc:
            raise CorruptFile(f"cannot read {index.path}: {exc.strerror or exc}") from exc

    def read(self, block: DepthBlock) -> np.ndarray:
        """The frame's depth image (uint16, native byte order)."""
        if self._f is None:
            raise CorruptFile(f"{self.index.path} is closed")
        try:
            self._f.seek(block.offset)
            data = self._f.read(block.size)
        except OSError as exc:
            raise CorruptFile(f"cannot read {self.index.path}: {exc.strerror or exc}") from exc
        if len(data) != block.size:
            raise CorruptFile(f"{self.index.path} got shorter while it was read (byte {block.offset:,})")
        big_endian = np.frombuffer(data, dtype=">u2").reshape(self.track.height, self.track.width)
        return big_endian.astype(np.uint16)

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None
