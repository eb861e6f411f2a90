"""Messages without a ``_format`` header, as NASA's GCN Kafka sends them, become models."""

from __future__ import annotations

import json
import logging

import pytest

from hop import _codec
from hop.models import Blob, GCNCircular, GCNTextNotice, JSONBlob, VOEvent, decode
from tests.support import gcn_messages as gcn


def hop_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hop.models"]


def test_voevent_xml_without_header_is_a_voevent(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        event = decode(gcn.VOEVENT, None)
    assert isinstance(event, VOEvent)
    assert event.role == "test"
    assert event.What["Param"][0] == {"name": "Packet_Type", "value": "115"}
    assert bytes(event) == gcn.VOEVENT  # sent on as received
    assert hop_warnings(caplog) == []


def test_voevent_sniffing_ignores_prolog_comments_and_bom() -> None:
    body = b"\xef\xbb\xbf  <!-- from GCN -->\n" + gcn.VOEVENT.split(b"\n", 1)[1]
    assert isinstance(decode(body, None), VOEvent)
    plain_root = gcn.VOEVENT.replace(b"voe:VOEvent", b"VOEvent").replace(b"xmlns:voe", b"xmlns")
    assert isinstance(decode(plain_root, None), VOEvent)


def test_text_notice_without_header(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        notice = decode(gcn.TEXT_NOTICE, None)
    assert isinstance(notice, GCNTextNotice)
    assert notice.raw == gcn.TEXT_NOTICE
    assert str(notice) == gcn.TEXT_NOTICE.decode()
    assert notice.title == "GCN/FERMI NOTICE"
    assert notice.notice_type == "Fermi-GBM Final Position"
    assert notice.notice_date == "Thu 26 Nov 26 08:21:30 UT"
    assert notice.trigger_num == "999999999"
    assert notice.trigger_date == "21000 TJD;   330 DOY;   26/11/26"
    assert notice.trigger_time == "30064.00 SOD {08:21:04.00} UT"
    assert hop_warnings(caplog) == []


def test_text_notice_trigger_fields_by_mission() -> None:
    amon = GCNTextNotice(
        b"TITLE: GCN/AMON NOTICE\nNOTICE_TYPE: ICECUBE Astrotrack Bronze\n"
        b"DISCOVERY_DATE: 20412 TJD\nDISCOVERY_TIME: 20026 SOD\n"
    )
    assert (amon.trigger_date, amon.trigger_time) == ("20412 TJD", "20026 SOD")
    bare = GCNTextNotice(b"TITLE: GCN/X NOTICE\n")
    assert (bare.notice_type, bare.trigger_date, bare.trigger_time) == (None, None, None)


def test_notice_after_blank_lines_is_recognised() -> None:
    assert isinstance(decode(b"\n\n  \n" + gcn.TEXT_NOTICE, None), GCNTextNotice)


def test_json_circular_without_header(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        circular = decode(gcn.JSON_CIRCULAR, None)
    assert isinstance(circular, GCNCircular)
    document = json.loads(gcn.JSON_CIRCULAR)
    assert circular.body == document["body"]
    assert circular.header["subject"] == document["subject"]
    assert circular.header["number"] == "99999"
    assert circular.header["submitter"] == document["submitter"]
    assert circular.header["eventId"] == "GRB 261126A"
    assert circular.header["createdOn"] == "1795681264000"
    assert list(circular.header)[:2] == ["subject", "number"]
    assert str(circular).startswith("SUBJECT: GRB 261126A: hop test circular\nNUMBER:  99999\n")
    assert hop_warnings(caplog) == []


@pytest.mark.parametrize(
    "document",
    [
        {"subject": "s", "body": "b", "circularId": "99999"},  # not numeric
        {"subject": "s", "body": "b", "circularId": True},
        {"subject": "s", "circularId": 1},  # no body
        {"body": "b", "circularId": 1},
        {"subject": 1, "body": "b", "circularId": 1},
    ],
)
def test_json_that_is_not_a_circular_stays_json(document: dict[str, object]) -> None:
    body = json.dumps(document).encode()
    assert decode(body, None) == JSONBlob(document)


def test_json_notice_is_json() -> None:
    assert decode(gcn.JSON_NOTICE, None) == JSONBlob(json.loads(gcn.JSON_NOTICE))


def test_binary_packet_is_a_blob(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(gcn.BINARY_PACKET, None) == Blob(gcn.BINARY_PACKET)
    assert hop_warnings(caplog) == []


def test_malformed_xml_is_a_blob_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(gcn.MALFORMED_XML, None) == Blob(gcn.MALFORMED_XML)
    (warning,) = hop_warnings(caplog)
    assert "VOEvent" in warning and "not well-formed" in warning


def test_unsafe_voevent_xml_is_a_blob_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE v [<!ENTITY a "aaaaaaaaaa">]>'
        b'<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="&a;"/>'
    )
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(bomb, None) == Blob(bomb)
    (warning,) = hop_warnings(caplog)
    assert "refused for safety" in warning


def test_text_merely_starting_with_title_is_a_blob(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(gcn.TITLE_TEXT, None) == Blob(gcn.TITLE_TEXT)
    assert hop_warnings(caplog) == []


def test_title_then_free_text_is_a_blob_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = b"TITLE: GCN/FERMI NOTICE\nthis line is no KEY: value line... or is it\n!!\n"
    with caplog.at_level(logging.WARNING, logger="hop.models"):
        assert decode(body, None) == Blob(body)
    (warning,) = hop_warnings(caplog)
    assert "GCN text notice" in warning


def test_other_xml_and_text_stay_blobs() -> None:
    for body in (b"<html><body>VOEvent</body></html>", b"hello", b"", b"   "):
        assert decode(body, None) == Blob(body)


def test_a_format_header_always_wins() -> None:
    assert decode(gcn.TEXT_NOTICE, "blob") == Blob(gcn.TEXT_NOTICE)
    assert decode(gcn.VOEVENT, "blob") == Blob(gcn.VOEVENT)
    assert decode(gcn.JSON_CIRCULAR, "json") == JSONBlob(json.loads(gcn.JSON_CIRCULAR))


def test_older_clients_envelopes_are_still_read_first() -> None:
    body = json.dumps({"format": "blob", "content": {"subject": "s"}}).encode()
    assert decode(body, None) == JSONBlob({"subject": "s"})
    envelope = {"format": "circular", "content": {"header": {"subject": "s"}, "body": "b"}}
    assert decode(json.dumps(envelope).encode(), None) == GCNCircular({"subject": "s"}, "b")


def test_sniffing_reads_only_the_first_bytes() -> None:
    # Recognition looks at a bounded prefix: a VOEvent root far into a document is not one.
    late = b"<doc>" + b" " * (_codec._VOEVENT_SNIFF_BYTES + 10) + b"<VOEvent ivorn='x'/></doc>"
    assert decode(late, None) == Blob(late)
