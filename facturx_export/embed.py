# ruff: noqa: E501 (the XMP template below keeps its long lines verbatim)
"""Join a PDF/A-3 and its factur-x.xml with pikepdf.

Done by hand rather than with `facturx.generate_from_binary`, which re-parses the PDF with
pypdf (~7 ms), can leave a stale copy of the input PDF in the file, and writes a document
information dictionary that disagrees with the XMP (facturx-notes.md). Here:
- the XML is an associated file (catalog /AF, /AFRelationship, MIME text/xml, /Params with
  size, MD5 checksum and dates) named factur-x.xml in the EmbeddedFiles name tree;
- the XMP is rewritten whole: PDF/A-3 identification, Dublin Core, the Factur-X extension
  schema and fx: properties with the conformance level of the XML;
- the trailer /Info holds exactly the same values as the XMP;
- the file is written anew (no incremental update, so no stale copy).
"""

from __future__ import annotations

import datetime
import hashlib
import io
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from facturx_export.snapshot import InvoiceSnapshot, Profile

if TYPE_CHECKING:
    from facturx_export.letterhead import Letterhead

XML_FILENAME = "factur-x.xml"
PRODUCER = "Chorale (WeasyPrint, pikepdf)"
CONFORMANCE_LEVEL = {  # fx:ConformanceLevel
    Profile.BASIC: "BASIC",
    Profile.EN16931: "EN 16931",
    Profile.EXTENDED: "EXTENDED",
}

_XMP = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
   <pdfaid:part>3</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{author}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{subject}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdf:Producer>{producer}</pdf:Producer>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/">
   <xmp:CreatorTool>{producer}</xmp:CreatorTool>
   <xmp:CreateDate>{date}</xmp:CreateDate>
   <xmp:ModifyDate>{date}</xmp:ModifyDate>
   <xmp:MetadataDate>{date}</xmp:MetadataDate>
  </rdf:Description>
  <rdf:Description rdf:about="" xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#">
   <fx:DocumentType>INVOICE</fx:DocumentType>
   <fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>
   <fx:Version>1.0</fx:Version>
   <fx:ConformanceLevel>{level}</fx:ConformanceLevel>
  </rdf:Description>
  <rdf:Description rdf:about=""
    xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
    xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
   <pdfaExtension:schemas>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
      <pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
      <pdfaSchema:prefix>fx</pdfaSchema:prefix>
      <pdfaSchema:property>
       <rdf:Seq>
        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>DocumentFileName</pdfaProperty:name>
         <pdfaProperty:valueType>Text</pdfaProperty:valueType>
         <pdfaProperty:category>external</pdfaProperty:category>
         <pdfaProperty:description>name of the embedded XML invoice file</pdfaProperty:description>
        </rdf:li>
        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>DocumentType</pdfaProperty:name>
         <pdfaProperty:valueType>Text</pdfaProperty:valueType>
         <pdfaProperty:category>external</pdfaProperty:category>
         <pdfaProperty:description>INVOICE</pdfaProperty:description>
        </rdf:li>
        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>Version</pdfaProperty:name>
         <pdfaProperty:valueType>Text</pdfaProperty:valueType>
         <pdfaProperty:category>external</pdfaProperty:category>
         <pdfaProperty:description>The actual version of the Factur-X XML schema</pdfaProperty:description>
        </rdf:li>
        <rdf:li rdf:parseType="Resource">
         <pdfaProperty:name>ConformanceLevel</pdfaProperty:name>
         <pdfaProperty:valueType>Text</pdfaProperty:valueType>
         <pdfaProperty:category>external</pdfaProperty:category>
         <pdfaProperty:description>The conformance level of the embedded Factur-X data</pdfaProperty:description>
        </rdf:li>
       </rdf:Seq>
      </pdfaSchema:property>
     </rdf:li>
    </rdf:Bag>
   </pdfaExtension:schemas>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def _document_date(snapshot: InvoiceSnapshot) -> datetime.datetime:
    # A final invoice always gives the same bytes: its dates are its own, not "now".
    if snapshot.created_at is not None:
        value = snapshot.created_at
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.astimezone(datetime.UTC).replace(microsecond=0)
    issue = snapshot.issue_date
    return datetime.datetime(issue.year, issue.month, issue.day, tzinfo=datetime.UTC)


def _pdf_date(value: datetime.datetime) -> str:
    return value.strftime("D:%Y%m%d%H%M%S+00'00'")


def embed_xml(
    pdf_bytes: bytes,
    xml_bytes: bytes,
    snapshot: InvoiceSnapshot,
    *,
    underlay: Letterhead,
) -> bytes:
    """Return the Factur-X: `pdf_bytes` (the invoice render, a plain PDF) made a PDF/A-3b
    with `xml_bytes` attached, and the seller's letterhead laid under its pages, with its
    sRGB output intent (same open and save: no extra parse)."""
    date = _document_date(snapshot)
    pdf_date = String(_pdf_date(date))
    title = f"{snapshot.title} {snapshot.number}"
    author = snapshot.seller.name
    subject = f"{title} – {snapshot.buyer.name}"

    pdf = pikepdf.open(io.BytesIO(pdf_bytes))
    underlay.lay_under(pdf)  # also the PDF/A output intent: the render is a plain PDF
    stream = pdf.make_stream(xml_bytes)
    stream.Type = Name.EmbeddedFile
    stream.Subtype = Name("/text/xml")
    stream.Params = Dictionary(
        Size=len(xml_bytes),
        CheckSum=String(hashlib.md5(xml_bytes, usedforsecurity=False).digest()),
        CreationDate=pdf_date,
        ModDate=pdf_date,
    )
    relationship = Name.Alternative  # the XML is the invoice itself, in another form
    filespec = pdf.make_indirect(
        Dictionary(
            Type=Name.Filespec,
            F=String(XML_FILENAME),
            UF=String(XML_FILENAME),
            Desc=String(f"Factur-X {CONFORMANCE_LEVEL[snapshot.profile]}"),
            AFRelationship=relationship,
            EF=Dictionary(F=stream, UF=stream),
        )
    )
    pdf.Root.Names = Dictionary(
        EmbeddedFiles=Dictionary(Names=Array([String(XML_FILENAME), filespec]))
    )
    pdf.Root.AF = Array([filespec])

    xmp = _XMP.format(
        title=escape(title),
        author=escape(author),
        subject=escape(subject),
        producer=escape(PRODUCER),
        date=date.isoformat(),
        level=CONFORMANCE_LEVEL[snapshot.profile],
    ).encode("utf-8")
    metadata = pdf.make_stream(xmp)
    metadata.Type = Name.Metadata
    metadata.Subtype = Name.XML
    pdf.Root.Metadata = metadata
    pdf.trailer.Info = pdf.make_indirect(
        Dictionary(
            Title=String(title),
            Author=String(author),
            Subject=String(subject),
            Creator=String(PRODUCER),
            Producer=String(PRODUCER),
            CreationDate=pdf_date,
            ModDate=pdf_date,
        )
    )
    out = io.BytesIO()
    # PDF/A wants a trailer /ID; a deterministic one keeps the same invoice byte-identical.
    # Same bytes, ~0.6 ms sooner: streams are copied as they are (none needs re-encoding),
    # and the XMP, which has no pdf:PDFVersion to fix, is not parsed again.
    pdf.save(
        out,
        deterministic_id=True,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        fix_metadata_version=False,
    )
    return out.getvalue()


_FX_XMP_START = b'  <rdf:Description rdf:about="" xmlns:fx='
_XMP_END = b" </rdf:RDF>"


def without_xml(facturx_bytes: bytes) -> bytes:
    """The same invoice as a plain PDF/A-3b: no factur-x.xml attached, no Factur-X
    metadata (for a manual deposit on a portal that wants a PDF)."""
    pdf = pikepdf.open(io.BytesIO(facturx_bytes))
    del pdf.Root.Names
    del pdf.Root.AF
    xmp = pdf.Root.Metadata.read_bytes()
    start, end = xmp.index(_FX_XMP_START), xmp.index(_XMP_END)
    metadata = pdf.make_stream(xmp[:start] + xmp[end:])
    metadata.Type = Name.Metadata
    metadata.Subtype = Name.XML
    pdf.Root.Metadata = metadata
    out = io.BytesIO()
    pdf.save(out, deterministic_id=True, fix_metadata_version=False)
    return out.getvalue()
