"""KIS realtime wire parser on every recorded raw frame of ../shared/data/kis (unlicensed: skips when absent).

The multi-record frame is built from two recorded records (real values, ``count`` 002), the AES
vector is made with the ``cryptography`` library itself (no recorded encrypted notice exists).
"""

import json
from pathlib import Path

import pytest
from django.conf import settings

from markets.sources.kis.frames import TAIL, FrameParser, aes_cbc_decrypt, aes_cbc_encrypt, load_spec

KIS = Path(settings.MARKETS["SHARED_DATA_DIR"]) / "kis"


def kis_file(relative: str) -> Path:
    path = KIS / relative
    if not path.exists():
        pytest.skip(f"../shared/data/kis absent: {relative} is unlicensed and not shipped")
    return path


@pytest.fixture
def parser():
    return FrameParser(load_spec(kis_file("spec/kis_realtime_fields.json")), clock=lambda: 0.0)


def frames(name: str) -> list[str]:
    return kis_file(name).read_text(encoding="utf-8").splitlines()


def test_spec_has_sixteen_tr_ids_with_documented_counts(parser):
    counts = {tr_id: max(v) if len(v) == 1 else sorted(v) for tr_id, v in parser.versions.items()}
    assert len(counts) == 16
    assert counts["H0MFCNT0"] == [46, 49] and counts["H0MFASP0"] == [38, 40] and counts["H0IFCNT0"] == 50


def test_night_futures_frames_every_one_parses_with_its_version(parser):
    lines = frames("raw_frames_futures_night.txt")
    parsed = [parser.parse(line) for line in lines]
    assert [(f.kind, f.tr_id, f.version) for f in parsed] == [
        ("data", "H0MFASP0", 38),
        ("data", "H0MFASP0", 40),
        ("data", "H0MFASP0", 40),
        ("data", "H0MFCNT0", 46),
        ("data", "H0MFCNT0", 46),
        ("data", "H0MFCNT0", 46),
    ]
    assert parser.stats["records"] == 6 and parser.stats["quarantined"] == 0
    quote = parsed[1].records[0]
    assert (quote["futs_shrn_iscd"], quote["bsop_hour"], quote["futs_askp1"], quote["futs_bidp1"]) == (
        "101W09",
        "012201",
        "344.20",
        "344.15",
    )
    assert quote["askp_rsqn1"] == "7" and quote["total_bidp_rsqn"] == "0"
    assert any(ord(ch) > 127 for ch in quote[TAIL]) and quote[TAIL].count("^") == 3  # the non-text bytes kept raw
    assert "total_askp_rsqn_icdc" not in quote
    trade = parsed[3].records[0]
    assert len(trade) == 46 and "dynm_mxpr" not in trade
    assert (trade["bsop_hour"], trade["futs_prpr"], trade["last_cnqn"], trade["acml_vol"]) == (
        "011015",
        "344.15",
        "1",
        "18905",
    )
    assert int(trade["shnu_cntg_csnu"]) - int(trade["seln_cntg_csnu"]) == int(
        trade["ntby_cntg_csnu"]
    )  # columns aligned


def test_stock_frames_parse_46_fields(parser):
    parsed = [parser.parse(line) for line in frames("raw_frames_stock.txt")]
    assert [(f.kind, f.version, len(f.records)) for f in parsed] == [("data", 46, 1), ("data", 46, 1)]
    assert [f.records[0]["BSOP_DATE"] for f in parsed] == ["20230324", "20260724"]
    assert parsed[0].records[0]["STCK_PRPR"] == "62700" and parsed[0].records[0]["MKSC_SHRN_ISCD"] == "005930"


def test_multi_record_frame_parses_every_record(parser):
    lines = frames("raw_frames_futures_night.txt")[3:6]
    payloads = [line.split("|", 3)[3] for line in lines]
    frame = parser.parse("0|H0MFCNT0|003|" + "^".join(payloads))
    assert frame.kind == "data" and [r["bsop_hour"] for r in frame.records] == ["011015", "011304", "011306"]
    assert [r["acml_vol"] for r in frame.records] == ["18905", "18933", "18934"]
    assert parser.stats["records"] == 3


def test_unknown_field_count_is_quarantined_counted_and_does_not_stop_the_feed(parser, caplog):
    line = frames("raw_frames_futures_night.txt")[3]
    broken = line + "^extra"  # 47 fields: no known version
    first, second = parser.parse(broken), parser.parse(broken)
    assert first.kind == second.kind == "quarantine" and "47" in first.reason and first.raw == broken
    assert parser.stats["quarantined:H0MFCNT0"] == 2 and parser.stats["records"] == 0
    assert len([r for r in caplog.records if "quarantined" in r.getMessage()]) == 1  # once per tr_id and hour
    assert parser.parse(line).kind == "data"  # the feed goes on
    for bad in (
        "0|H0MFCNT0|002|" + line.split("|", 3)[3],
        "0|H0ZZZZZ0|001|a^b",
        "0|H0MFCNT0|abc|x",
        "garbage",
        "{not json",
        b"\xff\xfe",
    ):
        assert parser.parse(bad).kind == "quarantine"


def test_pingpong_and_ack_with_key_then_encrypted_frame_decrypts(parser):
    ping = '{"header":{"tr_id":"PINGPONG","datetime":"20250714184301"}}'
    assert parser.parse(ping).kind == "pingpong" and parser.parse(ping).raw == ping
    key, iv = "0123456789abcdef0123456789abcdef", "fedcba9876543210"
    ack = {
        "header": {"tr_id": "H0MFCNT0", "tr_key": "101W09", "encrypt": "N"},
        "body": {"rt_cd": "0", "msg_cd": "OPSP0000", "msg1": "SUBSCRIBE SUCCESS", "output": {"iv": iv, "key": key}},
    }
    before = parser.parse("1|H0MFCNT0|001|AAAA")
    assert before.kind == "quarantine" and "no key" in before.reason
    frame = parser.parse(json.dumps(ack))
    assert frame.kind == "ack" and frame.ack["body"]["rt_cd"] == "0" and parser.keys["H0MFCNT0"] == (key, iv)
    payload = frames("raw_frames_futures_night.txt")[3].split("|", 3)[3]
    encrypted = parser.parse("1|H0MFCNT0|001|" + aes_cbc_encrypt(payload, key, iv))
    assert encrypted.kind == "data" and encrypted.encrypted and encrypted.records[0]["acml_vol"] == "18905"
    assert parser.parse("1|H0MFCNT0|001|" + aes_cbc_encrypt(payload, key[::-1], iv)).kind == "quarantine"


def test_aes_vector_made_with_the_library():
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key, iv = b"k" * 32, b"i" * 16
    plain = b"H0STCNI0 notice^" + bytes([16] * 0)  # 16 bytes: a full PKCS7 block of padding follows
    padded = plain + bytes([16] * 16)
    enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    import base64

    cipher_b64 = base64.b64encode(enc.update(padded) + enc.finalize()).decode()
    assert aes_cbc_decrypt(cipher_b64, key.decode(), iv.decode()) == plain.decode()
    assert aes_cbc_encrypt(plain.decode(), key.decode(), iv.decode()) == cipher_b64
    with pytest.raises(ValueError):
        aes_cbc_decrypt("not base64!", key.decode(), iv.decode())
