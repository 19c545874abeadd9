"""A tiny Matroska writer for tests: Azure Kinect-style MKVs with many depth frames, no camera.

It lays a file out as k4arecord does (EBML header; Segment with SeekHead, Info, Tracks,
Attachments, Tags; one Cluster per capture; Cues at the end), with a ``DEPTH`` track of
codec ``V_MS/VFW/FOURCC`` / ``b16g`` (16-bit big-endian pixels) and optionally an ``IR``
track of the same codec, so a reader must pick the depth track by name.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np

UNKNOWN_SIZE = b"\x01\xff\xff\xff\xff\xff\xff\xff"


def _id(eid: int) -> bytes:
    return eid.to_bytes((eid.bit_length() + 7) // 8, "big")


def _size(n: int, width: int | None = None) -> bytes:
    width = width or next(w for w in range(1, 9) if n < (1 << (7 * w)) - 1)
    return (n | (1 << (7 * width))).to_bytes(width, "big")


def el(eid: int, payload: bytes, size_width: int | None = None) -> bytes:
    return _id(eid) + _size(len(payload), size_width) + payload


def uint(eid: int, v: int) -> bytes:
    return el(eid, v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big"))


def text(eid: int, s: str) -> bytes:
    return el(eid, s.encode())


def bitmapinfoheader(width: int, height: int, fourcc: bytes = b"b16g") -> bytes:
    return struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 16, fourcc, width * height * 2, 0, 0, 0, 0)


def depth_frames(n: int, width: int = 64, height: int = 48, seed: int = 0) -> list[np.ndarray]:
    """``n`` distinct frames using all 16 bits (so a byte-order slip shows), with holes."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        d = rng.integers(0, 65535, size=(height, width), dtype=np.uint16)
        d[rng.random((height, width)) < 0.05] = 0
        out.append(d)
    return out


@dataclass
class Mkv:
    data: bytes
    frame_ends: list[int] = field(default_factory=list)  # where each depth frame's pixels end

    def frames_before(self, cut: int) -> int:
        """How many depth frames are complete in the first ``cut`` bytes."""
        return sum(1 for e in self.frame_ends if e <= cut)


def write_depth_mkv(
    frames: list[np.ndarray],
    times_us: list[int],
    *,
    start_offset_us: int = 0,
    fps: int | None = 30,
    depth_mode: str | None = None,
    calibration: bytes | None = None,
    ir: bool = False,
    timecode_scale_ns: int = 1000,
    unknown_segment: bool = False,
    unknown_clusters: bool = False,
    cues: bool = True,
    depth_track: int = 2,
    frames_per_cluster: int = 1,
    block_groups: bool = False,
    crc: bool = False,
) -> Mkv:
    """A whole MKV of ``frames`` (uint16, all one size) at file times ``times_us``; a cluster
    holds ``frames_per_cluster`` captures (block times relative to the cluster's); depth
    frames are SimpleBlocks, or with ``block_groups`` a BlockGroup's Block; ``crc``: each
    cluster starts with the CRC-32 of the rest of it."""
    h, w = frames[0].shape
    ir_track = 3
    depth_uid, ir_uid, cal_uid = 455224094056465970, 132505957082569141, 1124715092807590969

    def track(number: int, uid: int, name: str) -> bytes:
        body = uint(0xD7, number) + uint(0x73C5, uid) + uint(0x83, 1) + text(0x86, "V_MS/VFW/FOURCC")
        body += text(0x536E, name) + el(0x63A2, bitmapinfoheader(w, h))
        if fps:
            body += uint(0x23E383, 1_000_000_000 // fps)
        body += el(0xE0, uint(0xB0, w) + uint(0xBA, h))
        return el(0xAE, body)

    def tag(name: str, value: str, target: bytes = b"") -> bytes:
        return el(0x7373, el(0x63C0, target) + el(0x67C8, text(0x45A3, name) + text(0x4487, value)))

    def on_track(uid: int) -> bytes:
        return text(0x63CA, "TRACK") + uint(0x63C5, uid)

    app = text(0x4D80, "tests.mkv_support") + text(0x5741, "tests.mkv_support")  # muxing and writing app
    info = el(0x1549A966, uint(0x2AD7B1, timecode_scale_ns) + app)
    tracks = track(depth_track, depth_uid, "DEPTH") + (track(ir_track, ir_uid, "IR") if ir else b"")
    tracks = el(0x1654AE6B, tracks)
    mode = depth_mode or {(640, 576): "NFOV_UNBINNED", (320, 288): "NFOV_2X2BINNED"}.get((w, h), "NFOV_UNBINNED")
    tags = tag("K4A_DEPTH_TRACK", str(depth_uid), on_track(depth_uid)) + tag("K4A_DEPTH_MODE", mode, on_track(depth_uid))
    if ir:
        tags += tag("K4A_IR_TRACK", str(ir_uid), on_track(ir_uid)) + tag("K4A_IR_MODE", "ACTIVE", on_track(ir_uid))
    tags += tag("K4A_DEPTH_DELAY_NS", "0") + tag("K4A_WIRED_SYNC_MODE", "STANDALONE")
    tags += tag("K4A_DEVICE_SERIAL_NUMBER", "000000000000")
    tags += tag("K4A_START_OFFSET_NS", str(start_offset_us * 1000))
    attachments = b""
    if calibration is not None:
        attachments = el(0x1941A469, el(0x61A7, text(0x466E, "calibration.json") + text(0x4660, "application/octet-stream")
                                        + el(0x465C, calibration) + uint(0x46AE, cal_uid)))
        tags += tag("K4A_CALIBRATION_FILE", "calibration.json", text(0x63CA, "ATTACHMENT") + uint(0x63C6, cal_uid))
    tags = el(0x1254C367, tags)

    def seek_head(positions: dict[int, int]) -> bytes:
        body = b"".join(el(0x4DBB, el(0x53AB, _id(i)) + el(0x53AC, p.to_bytes(8, "big"))) for i, p in positions.items())
        return el(0x114D9B74, body)

    head_ids = [0x1549A966, 0x1654AE6B] + ([0x1941A469] if attachments else []) + [0x1254C367] + ([0x1C53BB6B] if cues else [])
    seek_len = len(seek_head({i: 0 for i in head_ids}))
    header_parts = [info, tracks, attachments, tags]

    # clusters, positions relative to the segment's payload
    pos = seek_len + sum(len(p) for p in header_parts)
    clusters: list[bytes] = []
    cluster_pos: list[tuple[int, int]] = []  # (timecode, position)
    frame_ends_rel: list[int] = []
    for first in range(0, len(frames), frames_per_cluster):
        group = list(zip(frames, times_us))[first : first + frames_per_cluster]
        cluster_tc = group[0][1] * 1000 // timecode_scale_ns
        body = uint(0xE7, cluster_tc)
        depth_ends = []  # where each depth frame's pixels end in the cluster body
        for d, t_us in group:
            rel = t_us * 1000 // timecode_scale_ns - cluster_tc
            block = bytes([0x80 | depth_track]) + rel.to_bytes(2, "big", signed=True) + b"\x80" + d.astype(">u2").tobytes()
            body += el(0xA0, el(0xA1, block) + uint(0x9B, 1)) if block_groups else el(0xA3, block)
            depth_ends.append(len(body) - (3 if block_groups else 0))  # BlockDuration after the Block
            if ir:
                body += el(0xA3, bytes([0x80 | ir_track]) + rel.to_bytes(2, "big", signed=True) + b"\x80"
                            + (d // 2).astype(">u2").tobytes())
        lead = el(0xBF, zlib.crc32(body).to_bytes(4, "little")) if crc else b""  # as k4arecord writes it
        body = lead + body
        head = _id(0x1F43B675) + (UNKNOWN_SIZE if unknown_clusters else _size(len(body), 8))
        cluster_pos.append((cluster_tc, pos))
        frame_ends_rel += [pos + len(head) + len(lead) + e for e in depth_ends]
        clusters.append(head + body)
        pos += len(head) + len(body)
    cue_el = b""
    if cues:
        points = b"".join(el(0xBB, uint(0xB3, tc) + el(0xB7, uint(0xF7, depth_track) + uint(0xF1, p))) for tc, p in cluster_pos)
        cue_el = el(0x1C53BB6B, points)
    positions, p = {}, seek_len
    for i, part in zip([0x1549A966, 0x1654AE6B, 0x1941A469, 0x1254C367], header_parts):
        if part:
            positions[i] = p
        p += len(part)
    if cues:
        positions[0x1C53BB6B] = pos
    body = seek_head(positions) + b"".join(header_parts) + b"".join(clusters) + cue_el
    ebml = el(0x1A45DFA3, uint(0x4286, 1) + uint(0x42F7, 1) + uint(0x42F2, 4) + uint(0x42F3, 8)
              + text(0x4282, "matroska") + uint(0x4287, 4) + uint(0x4285, 2))
    segment_head = _id(0x18538067) + (UNKNOWN_SIZE if unknown_segment else _size(len(body), 8))
    base = len(ebml) + len(segment_head)
    return Mkv(ebml + segment_head + body, [base + e for e in frame_ends_rel])


def real_calibration(mkv_bytes: bytes) -> bytes:
    """The calibration.json attached to a real recording (found by its file name)."""
    i = mkv_bytes.index(b"calibration.json")
    j = mkv_bytes.index(b'{"CalibrationInformation"', i)
    depth = 0
    for k in range(j, len(mkv_bytes)):
        depth += {ord("{"): 1, ord("}"): -1}.get(mkv_bytes[k], 0)
        if depth == 0:
            return mkv_bytes[j : k + 1]
    raise ValueError("no calibration in the recording")
