"""GCN-style messages without hop headers, one per GCN Kafka topic family (all made up here)."""

from __future__ import annotations

import json
import struct

VOEVENT = b"""<?xml version='1.0' encoding='UTF-8'?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" role="test" version="2.0"
 ivorn="ivo://nasa.gsfc.gcn/Fermi#GBM_Fin_Pos2026-11-26T08:21:04.00_999999999_0-123">
  <Who>
    <AuthorIVORN>ivo://nasa.gsfc.tan/gcn</AuthorIVORN>
    <Date>2026-11-26T08:21:30</Date>
  </Who>
  <What>
    <Param name="Packet_Type" value="115" />
    <Param name="TrigID" value="999999999" ucd="meta.id" />
  </What>
</voe:VOEvent>
"""

TEXT_NOTICE = b"""TITLE:            GCN/FERMI NOTICE
NOTICE_DATE:      Thu 26 Nov 26 08:21:30 UT
NOTICE_TYPE:      Fermi-GBM Final Position
RECORD_NUM:       1
TRIGGER_NUM:      999999999
GRB_RA:           123.450d {+08h 13m 48s} (J2000)
GRB_DEC:          -12.340d {-12d 20' 24"} (J2000)
GRB_DATE:         21000 TJD;   330 DOY;   26/11/26
GRB_TIME:         30064.00 SOD {08:21:04.00} UT
COMMENTS:         Fermi-GBM location (made up for hop's tests).
"""

JSON_NOTICE = json.dumps(
    {
        "$schema": "https://gcn.nasa.gov/schema/main/gcn/notices/icecube/LvkNuTrackSearch.schema.json",
        "type": "IceCube LVK Alert Nu Track Search",
        "reference": {"gcn.notices.LVK.alert": "S261126a"},
        "trigger_time": "2026-11-26T08:21:04Z",
        "n_events_coincident": 0,
    }
).encode()

JSON_CIRCULAR = json.dumps(
    {
        "subject": "GRB 261126A: hop test circular",
        "body": "A. Person (Somewhere) report:\n\nNothing happened.\n",
        "circularId": 99999,
        "createdOn": 1795681264000,
        "submitter": "A. Person at Somewhere <a@example.org>",
        "eventId": "GRB 261126A",
    }
).encode()

# A 160-byte GCN binary packet: 40 big-endian 4-byte integers, the first the packet type.
BINARY_PACKET = struct.pack(">40i", 115, 1, 21000, 3006400, *range(36))

MALFORMED_XML = b"""<?xml version='1.0' encoding='UTF-8'?>
<voe:VOEvent xmlns:voe="http://www.ivoa.net/xml/VOEvent/v2.0" ivorn="ivo://x#1" role="test">
  <Who><Date>2026-11-26</Date>
"""

TITLE_TEXT = b"TITLE of my talk, and nothing else: notes follow\nno key here\n"

assert len(BINARY_PACKET) == 160
