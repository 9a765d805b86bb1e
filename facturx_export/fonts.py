"""The invoice's text font: DejaVu Sans cut down to the Latin scripts.

WeasyPrint copies the whole file of every font a document uses and subsets it again for
each PDF it writes: with DejaVu Sans and DejaVu Sans Bold (~1.4 MB together) that is about
5 % of a ten-line invoice. A cut to the Latin scripts and the usual symbols (~10 times
smaller) is made once per machine with fontTools, from the installed DejaVu fonts, and kept
in CHORALE_VAR_DIR. A character outside it (Greek, Cyrillic...) falls back to the full
DejaVu Sans, next in the stylesheet's font list, so the invoice prints exactly the same.
Without `fc-match` or DejaVu, the invoice simply uses the full fonts.

`undrawable` says which characters of a text none of the invoice's fonts can draw (they
would print as empty boxes, which PDF/A forbids): the entry screens refuse them.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import subprocess
import unicodedata
import uuid
from pathlib import Path

import fontTools
from django.conf import settings
from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

logger = logging.getLogger(__name__)

FAMILY = "DejaVu Sans Latin"  # named in templates/facturx_export/invoice.css
# CSS weight -> (fontconfig pattern, the file it must find: not a substitute).
WEIGHTS = {
    "normal": ("DejaVu Sans:style=Book", "DejaVuSans.ttf"),
    "bold": ("DejaVu Sans:style=Bold", "DejaVuSans-Bold.ttf"),
}
RANGES = [
    (0x0020, 0x024F),  # Basic Latin, Latin-1, Latin Extended-A and -B
    (0x02B0, 0x036F),  # modifier letters, combining accents
    (0x1D00, 0x1DBF),  # phonetic extensions (the "ᵉ" of "2ᵉ")
    (0x2000, 0x20CF),  # punctuation, superscripts, currencies (€)
    (0x2100, 0x215F),  # letterlike symbols (№, ™), fractions
    (0x2212, 0x2212),  # minus sign
    (0xFB00, 0xFB06),  # Latin ligatures
]
CUT_VERSION = "2"  # change to remake the cuts
# Every font the invoice's text may be set in (templates/facturx_export/*.css name their
# families): DejaVu Sans for Latin, Greek, Cyrillic, Arabic and Hebrew, WenQuanYi Micro Hei
# for Chinese, Japanese and Korean (Debian packages fonts-dejavu-core, fonts-wqy-microhei).
TEXT_FONTS = [
    *WEIGHTS.values(),
    ("WenQuanYi Micro Hei", "wqy-microhei.ttc"),
]


def font_faces_css() -> str:
    """The @font-face rules of FAMILY, or "" when the cut cannot be made."""
    rules = []
    for weight, (pattern, file_name) in WEIGHTS.items():
        path = _latin_cut(pattern, file_name)
        if path is None:
            return ""
        rules.append(
            f'@font-face {{ font-family: "{FAMILY}"; src: url("{path.as_uri()}"); '
            f"font-weight: {weight} }}"
        )
    return "\n".join(rules)


def undrawable(text: str) -> list[str]:
    """The characters of `text` (each once, in order) that no invoice font can draw.
    Spaces and invisible format characters (direction marks...) draw nothing and pass."""
    covered = covered_codepoints()
    if not covered:
        return []
    return [
        char
        for char in dict.fromkeys(text)
        if ord(char) not in covered and not char.isspace() and unicodedata.category(char) != "Cf"
    ]


@functools.cache
def covered_codepoints() -> frozenset[int]:
    """The characters the invoice's fonts cover, read once per process from their cmaps
    (about 50 ms). Empty, with an error logged, when none of the fonts is installed:
    nothing is refused then, as the machine is not set up to print invoices at all."""
    covered: set[int] = set()
    for pattern, file_name in TEXT_FONTS:
        path = _installed(pattern, file_name)
        if path is None:
            logger.warning("font %s not installed: its characters are refused", pattern)
            continue
        if path.suffix == ".ttc":
            fonts = TTCollection(path, lazy=True).fonts
        else:
            fonts = [TTFont(path, lazy=True)]
        for font in fonts:
            covered.update(font.getBestCmap() or {})
    if not covered:
        logger.error("none of the invoice fonts is installed (fonts-dejavu-core...)")
    return frozenset(covered)


def _installed(pattern: str, file_name: str) -> Path | None:
    try:
        found = subprocess.run(
            ["fc-match", "--format=%{file}", pattern],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(found)
    # fontconfig answers with a substitute when the font is missing.
    return path if path.name == file_name and path.is_file() else None


def _latin_cut(pattern: str, file_name: str) -> Path | None:
    source = _installed(pattern, file_name)
    if source is None:
        logger.warning("%s not found: invoices use the full DejaVu fonts", pattern)
        return None
    stat = source.stat()
    key = hashlib.sha256(
        f"{source}:{stat.st_size}:{stat.st_mtime_ns}:{CUT_VERSION}:{fontTools.version}".encode()
    ).hexdigest()[:12]
    target = Path(settings.VAR_DIR).resolve() / "fonts" / f"{source.stem}-latin-{key}.ttf"
    if not target.exists():
        try:
            _cut(source, target)
        except Exception:  # a speed-up only: never a reason not to build an invoice
            logger.warning("could not cut %s: invoices use the full font", source, exc_info=True)
            return None
    return target


def _cut(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    font = TTFont(source)
    options = subset.Options()
    options.layout_features = ["*"]  # kerning, ligatures: the same shaping as before
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False  # WeasyPrint drops it from the fonts it embeds anyway
    options.drop_tables += ["FFTM"]  # FontForge timestamps: nothing to subset
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[c for low, high in RANGES for c in range(low, high + 1)])
    subsetter.subset(font)
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.tmp")  # hosts may share it
    try:
        font.save(partial)
        os.replace(partial, target)  # atomic: processes starting together agree
    finally:
        partial.unlink(missing_ok=True)
