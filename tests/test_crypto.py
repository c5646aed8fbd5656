"""Our WeChat AES crypto against Tencent's published vectors and against wechatpy's implementation."""

import pytest
from wechatpy.crypto import WeChatCrypto

from bot.wechat import crypto
from bot.wechat.crypto import AppIdMismatch, CryptoError, MessageCrypto
from bot.wechat.messages import parse_xml

# Tencent's WXBizMsgCrypt sample for Official Accounts (公众号消息加解密 demo).
SAMPLE_TOKEN = "spamtest"
SAMPLE_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_APPID = "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP = "1409735669"
SAMPLE_NONCE = "1320562132"
SAMPLE_MSG_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2L"
    "dJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6u"
    "x5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJ"
    "pXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCz"
    "pu9GhglF2PE="
)

# The fixed-random-prefix vector from WeChat's enterprise sample (same algorithm, CorpID in place of AppID).
FIXED_TOKEN = "123456"
FIXED_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
FIXED_ID = "wx49f0ab532d5d035a"
FIXED_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
FIXED_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURn"
    "AtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oy"
    "KQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkd"
    "Q39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
FIXED_SIGNATURE = "407518b7649e86ef23978113f92d27afa9296533"


def test_decrypts_tencents_official_sample() -> None:
    c = MessageCrypto(SAMPLE_TOKEN, [SAMPLE_KEY], SAMPLE_APPID)
    assert c.verify_msg_signature(SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)
    fields = parse_xml(c.decrypt(SAMPLE_ENCRYPT))
    assert fields["Content"] == "abcdteT"
    assert fields["FromUserName"] == "oyORnuP8q7ou2gfYjqLzSIWZf0rs"
    assert fields["MsgId"] == "6054768590064713728"


def test_official_sample_signature_fails_when_tampered() -> None:
    c = MessageCrypto(SAMPLE_TOKEN, [SAMPLE_KEY], SAMPLE_APPID)
    assert not c.verify_msg_signature(SAMPLE_MSG_SIGNATURE, SAMPLE_TIMESTAMP, "1320562133", SAMPLE_ENCRYPT)
    assert not c.verify_msg_signature(None, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)


def test_produces_the_published_ciphertext_from_a_fixed_random_prefix() -> None:
    c = MessageCrypto(FIXED_TOKEN, [FIXED_KEY], FIXED_ID)
    envelope = parse_xml(c.envelope(FIXED_REPLY.encode(), "461056294", "1411525903", b"1234567890123456"))
    assert envelope["Encrypt"] == FIXED_ENCRYPT
    assert envelope["MsgSignature"] == FIXED_SIGNATURE
    assert envelope["TimeStamp"] == "1411525903"
    assert envelope["Nonce"] == "461056294"


def test_round_trip_with_wechatpy_both_ways() -> None:
    ours = MessageCrypto(SAMPLE_TOKEN, [SAMPLE_KEY], SAMPLE_APPID)
    theirs = WeChatCrypto(SAMPLE_TOKEN, SAMPLE_KEY, SAMPLE_APPID)
    xml = "<xml><Content><![CDATA[明天下午3点 粤A12345 保养]]></Content></xml>"
    env = ours.envelope(xml.encode(), "42", "1700000000")
    fields = parse_xml(env)
    assert theirs.decrypt_message(env.decode(), fields["MsgSignature"], "1700000000", "42") == xml
    theirs_env = parse_xml(theirs.encrypt_message(xml, "43", "1700000001").encode())
    assert ours.decrypt(theirs_env["Encrypt"]).decode() == xml


def test_previous_key_still_decrypts_during_rotation() -> None:
    old = MessageCrypto(SAMPLE_TOKEN, [SAMPLE_KEY], SAMPLE_APPID)
    rotated = MessageCrypto(SAMPLE_TOKEN, [FIXED_KEY, SAMPLE_KEY], SAMPLE_APPID)
    assert rotated.decrypt(old.encrypt(b"<xml/>")) == b"<xml/>"
    # Replies always use the new key.
    new_only = MessageCrypto(SAMPLE_TOKEN, [FIXED_KEY], SAMPLE_APPID)
    assert new_only.decrypt(rotated.encrypt(b"<xml/>")) == b"<xml/>"


def test_wrong_appid_and_garbage_are_told_apart() -> None:
    other = MessageCrypto(SAMPLE_TOKEN, [SAMPLE_KEY], "wx0000000000000000")
    with pytest.raises(AppIdMismatch):
        other.decrypt(SAMPLE_ENCRYPT)
    c = MessageCrypto(SAMPLE_TOKEN, [SAMPLE_KEY], SAMPLE_APPID)
    for garbage in ("not base64!", "", "AAAA", "QUFBQUFBQUFBQUFBQUFBQQ=="):
        with pytest.raises(CryptoError):
            c.decrypt(garbage)


def test_signature_is_sorted_sha1() -> None:
    assert crypto.signature("b", "a", "c") == crypto.signature("c", "b", "a")
    assert crypto.verify(crypto.signature("t", "1", "n"), "t", "1", "n")
    assert not crypto.verify("0" * 40, "t", "1", "n")
