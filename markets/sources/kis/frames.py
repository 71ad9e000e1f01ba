"""KIS realtime WebSocket wire parser (pure Python, no Django).

Wire forms (KIS Open API, ``ws://ops.koreainvestment.com:21000``):

* data frame ``flag|tr_id|count|payload``: ``flag`` ``0`` plain or ``1`` AES-256-CBC encrypted
  (base64 payload; key and iv from that tr_id's subscribe acknowledgement); ``count`` (3 digits)
  records of ``^``-separated fields concatenated in one payload, each record in the tr_id's
  column order. **Every** record is parsed (``count * fields`` values), not only the first.
* JSON control frame: ``{"header": {"tr_id": "PINGPONG", ...}}`` (echo it back verbatim), or a
  subscribe/unsubscribe acknowledgement ``{"header": {"tr_id", "tr_key", "encrypt"}, "body":
  {"rt_cd", "msg_cd", "msg1", "output": {"key", "iv"}}}``.

Column lists come from the official list file (``spec/kis_realtime_fields.json``: ``{"tr_ids":
{tr_id: {"columns": [...]}}}``) and are *versioned by field count* per tr_id: the spec's own
count, plus the older or quirky counts observed on the wire (``EXTRA_VERSIONS``). A record whose
field count matches no version is quarantined: returned raw with a reason, counted in
``FrameParser.stats``, logged once per (tr_id, hour); the parser never raises on wire input.

Field values stay ``str`` exactly as received (callers convert to ``Decimal``/ints).
Source of the rules: the KIS samples (github.com/koreainvestment/open-trading-api) and the
recorded frames in ``../shared/data/kis`` (see its SOURCE.md).
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

logger = logging.getLogger(__name__)

TAIL = "_tail"  # column holding the unparsed remainder of a quirky record, joined by "^"


@dataclass(frozen=True)
class Version:
    """One known layout of a tr_id's record: ``count`` fields named by ``columns``.

    With ``tail=True`` the first ``len(columns)`` fields are named and the rest (garbled bytes on
    the wire) are kept joined under ``TAIL``; ``note`` says where the layout comes from.
    ``index`` maps each column to its position in the record (built once, shared by records).
    """

    count: int
    columns: tuple[str, ...]
    tail: bool = False
    note: str = "spec"
    index: dict[str, int] = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)

    def __post_init__(self):
        self.index.update({column: i for i, column in enumerate(self.columns)})


class Record(Mapping[str, str]):
    """One record of a data frame: a read-only mapping ``{column: str}`` in the version's
    column order (plus ``TAIL`` for a tail layout), viewing the frame's split fields without
    copying them into a dict. ``rec["bsop_hour"]``, ``rec.get(...)``, ``in``, ``items()``,
    ``==`` a dict all work; ``dict(rec)`` (or ``rec.copy()``) gives a plain dict, e.g. for JSON.
    """

    __slots__ = ("_fields", "_start", "_index", "_tail")

    def __init__(self, fields: list[str], start: int, index: dict[str, int], tail: str | None = None):
        self._fields = fields
        self._start = start
        self._index = index
        self._tail = tail

    def __getitem__(self, key: str) -> str:
        try:
            return self._fields[self._start + self._index[key]]
        except KeyError:
            if key == TAIL and self._tail is not None:
                return self._tail
            raise

    def __contains__(self, key: object) -> bool:
        return key in self._index or (key == TAIL and self._tail is not None)

    def __iter__(self) -> Iterator[str]:
        yield from self._index
        if self._tail is not None:
            yield TAIL

    def __len__(self) -> int:
        return len(self._index) + (self._tail is not None)

    def copy(self) -> dict[str, str]:
        return dict(self.items())

    def __or__(self, other: Mapping[str, str]) -> dict[str, str]:
        return {**self, **other}

    def __repr__(self) -> str:
        return f"Record({dict(self.items())!r})"


def _older_cnt_46(columns: list[str]) -> tuple[str, ...]:
    # H0MFCNT0 before the dynamic price limit fields (dynm_mxpr, dynm_llam, dynm_prc_limt_yn)
    # were appended: recorded night executions 2025-07 carry 46 fields (SOURCE.md).
    return tuple(columns[:46])


def _asp_36(columns: list[str]) -> tuple[str, ...]:
    # Night futures quotes recorded 2025-07 with 40 fields: the 36 level/total fields are clean,
    # the two documented *_icdc fields arrive as non-text bytes that themselves contain "^".
    return tuple(columns[:36])


# tr_id -> [(field count, columns builder from the spec list, tail?, note)]
EXTRA_VERSIONS: dict[str, list[tuple[int, Callable[[list[str]], tuple[str, ...]], bool, str]]] = {
    "H0MFCNT0": [(46, _older_cnt_46, False, "2025-07 wire: 46 fields, before dynm_* columns")],
    "H0MFASP0": [(40, _asp_36, True, "2025-07 wire: 40 fields, garbled *_icdc tail")],
}


def load_spec(path: str | Path) -> dict[str, list[str]]:
    """Read the official column lists: ``{tr_id: [column, ...]}``. Raises OSError / ValueError."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {tr_id: list(entry["columns"]) for tr_id, entry in data["tr_ids"].items()}


def build_versions(spec: dict[str, list[str]]) -> dict[str, dict[int, Version]]:
    """``{tr_id: {field count: Version}}`` from the spec plus ``EXTRA_VERSIONS``."""
    versions: dict[str, dict[int, Version]] = {}
    for tr_id, columns in spec.items():
        by_count = {len(columns): Version(len(columns), tuple(columns))}
        for count, builder, tail, note in EXTRA_VERSIONS.get(tr_id, []):
            by_count.setdefault(count, Version(count, builder(columns), tail, note))
        versions[tr_id] = by_count
    return versions


@dataclass(slots=True)
class Frame:
    """One parsed wire message.

    ``kind``: ``data`` (``records``: list of ``Record``, read-only mappings ``{column: str}``), ``pingpong`` (echo ``raw``),
    ``ack`` (subscribe/unsubscribe acknowledgement: ``ack`` holds header+body; ``rt_cd`` ``"0"``
    is success), ``control`` (other JSON), ``quarantine`` (unparseable: ``reason`` says why,
    ``raw`` is the message as received). ``encrypted`` tells a flag-1 frame; ``version`` is the
    field count used.
    """

    kind: str
    raw: str
    tr_id: str = ""
    records: list[Record] = field(default_factory=list)
    reason: str = ""
    encrypted: bool = False
    version: int | None = None
    ack: dict | None = None


def aes_cbc_decrypt(payload_b64: str, key: str, iv: str) -> str:
    """AES-256-CBC + PKCS7 decrypt of a base64 payload with the ack's ``key`` (32 chars) and ``iv`` (16 chars).

    Raises ValueError (bad base64, bad padding, wrong key length) or UnicodeDecodeError.
    """
    data = base64.b64decode(payload_b64, validate=True)
    decryptor = Cipher(algorithms.AES(key.encode("utf-8")), modes.CBC(iv.encode("utf-8"))).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode("utf-8")


def aes_cbc_encrypt(plain: str, key: str, iv: str) -> str:
    """The inverse of ``aes_cbc_decrypt`` (tests and the replay source): base64 text."""
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plain.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key.encode("utf-8")), modes.CBC(iv.encode("utf-8"))).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


class FrameParser:
    """Stateful parser for one upstream session: remembers AES keys from acks, counts outcomes.

    ``stats``: Counter with ``records`` (parsed records), ``frames``, ``quarantined``,
    ``quarantined:<tr_id>``, ``pingpong``, ``ack``. ``clock`` (epoch seconds) paces the
    quarantine log to once per (tr_id, hour).
    """

    def __init__(self, spec: dict[str, list[str]], clock: Callable[[], float] = time.time):
        self.versions = build_versions(spec)
        self.keys: dict[str, tuple[str, str]] = {}
        self.stats: Counter = Counter()
        self._clock = clock
        self._logged: set[tuple[str, int]] = set()

    @classmethod
    def from_spec_file(cls, path: str | Path, **kwargs) -> FrameParser:
        return cls(load_spec(path), **kwargs)

    def parse(self, raw: str | bytes) -> Frame:
        """Parse one WebSocket message; never raises on wire input."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        first = raw[:1]
        if first == "0" or first == "1":
            return self._data(raw)  # the hot path: see bench/kis.py
        if first == "{":
            return self._json(raw)
        return self._quarantine(raw, "", "neither a data frame nor JSON")

    # -- internals ---------------------------------------------------------------------------

    def _quarantine(self, raw: str, tr_id: str, reason: str) -> Frame:
        self.stats["quarantined"] += 1
        self.stats[f"quarantined:{tr_id}"] += 1
        mark = (tr_id, int(self._clock() // 3600))
        if mark not in self._logged:
            self._logged.add(mark)
            logger.warning("KIS frame quarantined (tr_id=%s): %s; first 120 chars: %r", tr_id, reason, raw[:120])
        return Frame(kind="quarantine", raw=raw, tr_id=tr_id, reason=reason)

    def _json(self, raw: str) -> Frame:
        try:
            message = json.loads(raw)
            header = message.get("header") or {}
            tr_id = str(header.get("tr_id", ""))
        except (ValueError, AttributeError):
            return self._quarantine(raw, "", "invalid JSON")
        if tr_id == "PINGPONG":
            self.stats["pingpong"] += 1
            return Frame(kind="pingpong", raw=raw, tr_id=tr_id)
        body = message.get("body")
        if isinstance(body, dict) and "rt_cd" in body:
            output = body.get("output") or {}
            if isinstance(output, dict) and output.get("key") and output.get("iv"):
                self.keys[tr_id] = (str(output["key"]), str(output["iv"]))
            self.stats["ack"] += 1
            return Frame(kind="ack", raw=raw, tr_id=tr_id, ack={"header": header, "body": body})
        return Frame(kind="control", raw=raw, tr_id=tr_id, ack=message if isinstance(message, dict) else None)

    def _data(self, raw: str) -> Frame:
        try:
            flag, tr_id, count_text, payload = raw.split("|", 3)
        except ValueError:
            return self._quarantine(raw, "", "data frame without 4 '|' parts")
        count = int(count_text) if count_text.isdigit() else 0
        if count < 1:
            return self._quarantine(raw, tr_id, f"bad record count {count_text!r}")
        encrypted = flag == "1"
        if encrypted:  # notices only
            key_iv = self.keys.get(tr_id)
            if key_iv is None:
                return self._quarantine(raw, tr_id, "encrypted frame before its subscribe ack (no key/iv)")
            try:
                payload = aes_cbc_decrypt(payload, *key_iv)
            except ValueError as exc:  # binascii.Error and UnicodeDecodeError are ValueErrors
                return self._quarantine(raw, tr_id, f"AES decrypt failed: {exc}")
        versions = self.versions.get(tr_id)
        if versions is None:
            return self._quarantine(raw, tr_id, "unknown tr_id")
        fields = payload.split("^")
        total = len(fields)
        if total % count:
            return self._quarantine(raw, tr_id, f"{total} fields do not divide into {count} records")
        per = total // count
        version = versions.get(per)
        if version is None:
            return self._quarantine(raw, tr_id, f"unknown field count {per} (known: {sorted(versions)})")
        index = version.index
        if version.tail:
            named = len(version.columns)
            records = [
                Record(fields, start, index, "^".join(fields[start + named : start + per]))
                for start in range(0, total, per)
            ]
        elif count == 1:
            records = [Record(fields, 0, index)]
        else:
            records = [Record(fields, start, index) for start in range(0, total, per)]
        stats = self.stats
        stats["frames"] += 1
        stats["records"] += count
        return Frame("data", raw, tr_id, records, "", encrypted, per)  # positional: the hot path
