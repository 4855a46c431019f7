"""XMP packets, parsed safely: IPTC DigitalSourceType, C2PA references, generator text.

Safety: a packet is at most ``max_xmp_bytes``; a packet that declares a DTD (``<!DOCTYPE`` or
``<!ENTITY``) is refused, so no entity can be defined and none expanded (no "billion laughs",
no external entity); what remains is parsed by the standard library's expat parser, which
fetches nothing. When a packet is not well-formed XML, the DigitalSourceType and
``dcterms:provenance`` values are still looked for with bounded patterns, and the failure is
recorded.

Collected:

* ``Iptc4xmpExt:DigitalSourceType`` (element text, ``rdf:resource`` or attribute form);
* ``dcterms:provenance``: a C2PA manifest reference (``self#jumbf=…`` or a remote URL);
* ``exif:UserComment`` (Draw Things writes its JSON there), ``xmp:CreatorTool``,
  ``dc:description``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from verisight.analysis.provenance.containers import TextEntry
from verisight.analysis.provenance.model import ParseProblem

NS_IPTC_EXT = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
NS_DCTERMS = "http://purl.org/dc/terms/"
NS_EXIF = "http://ns.adobe.com/exif/1.0/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

_DST = f"{{{NS_IPTC_EXT}}}DigitalSourceType"
_PROVENANCE = f"{{{NS_DCTERMS}}}provenance"
_RESOURCE = f"{{{NS_RDF}}}resource"
_TEXT_FIELDS = {
    f"{{{NS_EXIF}}}UserComment": "xmp:UserComment",
    f"{{{NS_XMP}}}CreatorTool": "xmp:CreatorTool",
    f"{{{NS_DC}}}description": "xmp:description",
}
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_START = re.compile(rb"<(?:[\w.-]+:)?(?:xmpmeta|xapmeta)\b|<rdf:RDF\b")
_DST_ELEMENT = re.compile(rb"DigitalSourceType\s*>\s*([^<\s]{1,300})\s*<")
_DST_ATTR = re.compile(rb"DigitalSourceType\s*=\s*[\"']([^\"']{1,300})[\"']")
_DST_RESOURCE = re.compile(rb"DigitalSourceType\b[^>]{0,200}?resource\s*=\s*[\"']([^\"']{1,300})")
_PROV_ATTR = re.compile(rb"dcterms:provenance\s*=\s*[\"']([^\"']{1,2000})[\"']")
_PROV_ELEMENT = re.compile(rb"dcterms:provenance\s*>\s*([^<\s]{1,2000})\s*<")


@dataclass(slots=True)
class XmpFacts:
    #: DigitalSourceType values as written (usually full IPTC URIs), with their source.
    source_types: list[tuple[str, str]] = field(default_factory=list)
    #: ``dcterms:provenance`` values (C2PA manifest references).
    provenance_refs: list[str] = field(default_factory=list)
    texts: list[TextEntry] = field(default_factory=list)
    problems: list[ParseProblem] = field(default_factory=list)


def read_xmp(packets: list[tuple[bytes, str]], max_bytes: int) -> XmpFacts:
    """Facts from every XMP packet of a file; never raises."""
    facts = XmpFacts()
    for packet, source in packets:
        try:
            _read_packet(packet, source, max_bytes, facts)
        except Exception as exc:  # defensive: a parser bug must not lose the item
            facts.problems.append(ParseProblem(source, f"XMP unreadable: {exc}"[:300]))
    return facts


def _read_packet(packet: bytes, source: str, max_bytes: int, facts: XmpFacts) -> None:
    if len(packet) > max_bytes:
        facts.problems.append(
            ParseProblem(source, f"{len(packet):,}-byte XMP packet exceeds {max_bytes:,}")
        )
        return
    if _DTD.search(packet):
        facts.problems.append(
            ParseProblem(source, "XMP packet declares a DTD; refused (no entity expansion)")
        )
        return
    m = _START.search(packet)
    if m is None:
        facts.problems.append(ParseProblem(source, "no x:xmpmeta or rdf:RDF element"))
        _scan(packet, source, facts)
        return
    body = packet[m.start() :]
    body = _cut_after_root(body)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        facts.problems.append(ParseProblem(source, f"XMP is not well-formed XML: {exc}"))
        _scan(packet, source, facts)
        return
    for el in root.iter():
        if el.tag == _DST:
            value = (el.text or "").strip() or el.attrib.get(_RESOURCE, "").strip()
            if value:
                facts.source_types.append((value, f"{source} Iptc4xmpExt:DigitalSourceType"))
        elif el.tag == _PROVENANCE:
            value = (el.text or "").strip() or el.attrib.get(_RESOURCE, "").strip()
            if value:
                facts.provenance_refs.append(value)
        elif el.tag in _TEXT_FIELDS:
            text = _element_text(el)
            if text:
                key = _TEXT_FIELDS[el.tag]
                facts.texts.append(TextEntry(key, text, f"{source} {key}"))
        for name, value in el.attrib.items():
            if name == _DST and value.strip():
                facts.source_types.append(
                    (value.strip(), f"{source} Iptc4xmpExt:DigitalSourceType")
                )
            elif name == _PROVENANCE and value.strip():
                facts.provenance_refs.append(value.strip())
            elif name in _TEXT_FIELDS and value.strip():
                key = _TEXT_FIELDS[name]
                facts.texts.append(TextEntry(key, value.strip(), f"{source} {key}"))


def _cut_after_root(body: bytes) -> bytes:
    """Drop what follows the root element (padding, ``<?xpacket end?>``, junk)."""
    for end in (b"</x:xmpmeta>", b"</x:xapmeta>", b"</rdf:RDF>"):
        i = body.rfind(end)
        if i >= 0:
            return body[: i + len(end)]
    return body


def _element_text(el: ET.Element) -> str:
    """Text of a simple property, or of the first ``rdf:li`` of an Alt/Seq/Bag."""
    if el.text and el.text.strip():
        return el.text.strip()
    for li in el.iter(f"{{{NS_RDF}}}li"):
        if li.text and li.text.strip():
            return li.text.strip()
    return ""


def _scan(packet: bytes, source: str, facts: XmpFacts) -> None:
    """Bounded pattern search of a packet the XML parser refused."""
    where = f"{source} Iptc4xmpExt:DigitalSourceType (pattern match)"
    for rx in (_DST_ELEMENT, _DST_ATTR, _DST_RESOURCE):
        for m in rx.finditer(packet):
            facts.source_types.append((m.group(1).decode("utf-8", "replace"), where))
    for rx in (_PROV_ATTR, _PROV_ELEMENT):
        for m in rx.finditer(packet):
            facts.provenance_refs.append(m.group(1).decode("utf-8", "replace"))
