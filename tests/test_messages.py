"""XML parsing, reply rendering and paging: the pure parts of the protocol edge."""

from datetime import UTC, datetime, timedelta

import pytest

from bot.models import ProcessedMessage
from bot.services import dedupe
from bot.wechat.messages import (
    PAGE_BYTES,
    MalformedMessage,
    paginate,
    parse_xml,
    render_text_reply,
    to_message,
)


def test_reply_content_survives_cdata_terminators() -> None:
    xml = render_text_reply("o_1", "gh_1", "a]]>b <c> & d", now=1)
    assert parse_xml(xml)["Content"] == "a]]>b <c> & d"


@pytest.mark.parametrize(
    ("lines", "line"),
    [(5, "短"), (400, "第{i}条 客户张三 粤A12345 138****5678 小保养"), (3, "长" * 1500), (1, "x" * 9000)],
)
def test_pages_stay_under_the_limit_and_lose_nothing(lines: int, line: str) -> None:
    text = "\n".join(line.format(i=i) for i in range(lines))
    pages = paginate(text)
    assert all(len(p.encode()) <= max(PAGE_BYTES, 1950) for p in pages)
    if len(pages) > 1:
        assert all(len(p.encode()) <= PAGE_BYTES for p in pages)
    assert "".join(pages).replace("\n", "") == text.replace("\n", "")


def test_a_reply_that_fits_is_not_split() -> None:
    text = "好" * 640  # 1920 bytes: under WeChat's 2048 with room to spare
    assert paginate(text) == [text]


def test_event_fields_are_normalised() -> None:
    msg = to_message(
        parse_xml(
            b"<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>7</CreateTime>"
            b"<MsgType>event</MsgType><Event>SUBSCRIBE</Event><EventKey>qrscene_campaign:x</EventKey></xml>"
        )
    )
    assert (msg.event, msg.event_key, msg.dedupe_key) == ("subscribe", "campaign:x", "e:o1:7:subscribe:campaign:x")


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><MsgType>text</MsgType></xml>",  # no sender
        b"<xml><FromUserName>o1</FromUserName><MsgType>text</MsgType><CreateTime>soon</CreateTime></xml>",
    ],
)
def test_incomplete_messages_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedMessage):
        to_message(parse_xml(body))


async def test_processed_messages_are_pruned_after_a_day(database: str) -> None:
    now = datetime.now(UTC)
    await ProcessedMessage.create(key="m:old", received_at=now - timedelta(hours=25), done=True)
    await ProcessedMessage.create(key="m:new", received_at=now - timedelta(hours=1), done=True)
    assert await dedupe.prune(now, timedelta(days=1)) == 1
    assert [r.key for r in await ProcessedMessage.all()] == ["m:new"]


def test_the_encrypt_field_is_sliced_from_a_plain_envelope_only() -> None:
    from bot.wechat.messages import encrypted_field

    envelope = b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[QUJD]]></Encrypt></xml>"
    assert encrypted_field(envelope) == "QUJD"
    assert encrypted_field(b"  " + envelope + b"\n") == "QUJD"
    assert encrypted_field(b"<xml><Encrypt>QUJD</Encrypt></xml>") is None  # unusual shape: full parse
    assert encrypted_field(b"garbage<Encrypt><![CDATA[QUJD]]></Encrypt>") is None
    with pytest.raises(MalformedMessage):
        encrypted_field(b'<!DOCTYPE x [<!ENTITY a "b">]><xml><Encrypt><![CDATA[&a;]]></Encrypt></xml>')
