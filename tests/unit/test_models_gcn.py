"""Messages without a ``_format`` header, as NASA's GCN Kafka sends them, become models."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable

import pytest

from hop.models import Blob, GCNCircular, GCNTextNotice, JSONBlob, VOEvent, _codec, _gcn, decode
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


# Item 1 of issue 18: any publisher can send a header-less message starting with "TITLE:",
# so reading one must take time in proportion to its size (target: 4 MB well under 0.2 s).
_MB = 1_000_000


def _continued_notice(size: int) -> bytes:
    """A notice whose COMMENTS field goes on for ``size`` bytes of continuation lines."""
    return b"TITLE: GCN/FERMI NOTICE\nCOMMENTS: start\n" + b"  more text\n" * (size // 12)


def _best_time(function: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def test_a_4_mb_notice_of_continuation_lines_reads_in_well_under_a_second() -> None:
    body = _continued_notice(4 * _MB)
    start = time.perf_counter()
    notice = decode(body, None)
    elapsed = time.perf_counter() - start
    assert isinstance(notice, GCNTextNotice)
    comments = notice.fields["comments"]
    assert comments.startswith("start\nmore text\nmore text\n")
    assert comments.count("\n") == 4 * _MB // 12
    assert elapsed < 1.0, f"a 4 MB notice took {elapsed:.2f} s"


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(_continued_notice, id="continuation-lines"),
        pytest.param(
            lambda size: b"TITLE: T\n" + b"COMMENTS: again\n" * (size // 16), id="repeats"
        ),
        pytest.param(lambda size: b"TITLE: T\nA" + b" " * size + b"X: 1\n", id="one-long-key"),
    ],
)
def test_reading_a_notice_takes_time_in_proportion_to_its_size(
    make: Callable[[int], bytes],
) -> None:
    small, large = make(_MB), make(4 * _MB)
    small_time = _best_time(lambda: decode(small, None))
    large_time = _best_time(lambda: decode(large, None))
    # Linear: 4 times the size, about 4 times the time (a square law would be 16 times).
    assert large_time < 8 * small_time + 0.2, (small_time, large_time)


def test_a_circular_with_a_long_continued_header_reads_in_linear_time() -> None:
    text = "SUBJECT: start\n" + "  more\n" * (4 * _MB // 7) + "\nbody"
    start = time.perf_counter()
    circular = GCNCircular.load(text)
    elapsed = time.perf_counter() - start
    assert circular.header["subject"] == "start" + " more" * (4 * _MB // 7)
    assert circular.body == "body"
    assert elapsed < 1.0, f"a 4 MB circular header took {elapsed:.2f} s"


# The header-line rule as a regular expression (what GCNCircular and GCNTextNotice read
# as "NAME: value"); the parser must keep to it without its quadratic backtracking.
_REFERENCE_HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z0-9_ /.()-]*?)\s*:\s?(.*)\Z", re.DOTALL)


@pytest.mark.parametrize(
    "line",
    [
        "TITLE: GCN",
        "TITLE:GCN",
        "TITLE   :   GCN  ",
        "TITLE\t: x",
        "Ti tle (J2000)/x.y-z: a: b",
        "A  B  C :",
        "A\tB: x",
        "1TITLE: x",
        "TITLE x",
        ":x",
        " TITLE: x",
        "TITLE!: x",
        "TITLE:\u2003x\u2003",
        "TITLE\u2003: x",
        "",
        "TITLE: a\rb",
    ],
)
def test_header_lines_read_as_the_reference_rule_says(line: str) -> None:
    match = _REFERENCE_HEADER_LINE.match(line)
    expected = None if match is None else (match.group(1).lower(), match.group(2).strip())
    assert _gcn._header_name(line) == expected
