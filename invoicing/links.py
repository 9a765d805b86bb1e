"""URLs owned by other apps, resolved only if those apps provide them.

The browser application shows the Chorus Pro actions and the Factur-X download where the
chorus and facturx_export apps plug them in; until a URL name resolves, its button is not
rendered (or, for the download, falls back to the documented path).
"""

from django.urls import NoReverseMatch, reverse

from invoicing.models import Invoice

CHORUS_SEND = "chorus:send"  # args: (invoice.pk,)
CHORUS_SEND_SELECTION = "chorus:send_selection"  # POST invoice=<pk> (several = refusal)
FACTURX_DOWNLOAD_NAMES = ("facturx_export:download", "facturx_download")
PDF_DOWNLOAD = "facturx_export:download_pdf"


def optional_reverse(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def chorus_send_url(invoice: Invoice) -> str:
    return optional_reverse(CHORUS_SEND, invoice.pk)


def chorus_send_selection_url() -> str:
    return optional_reverse(CHORUS_SEND_SELECTION)


def facturx_download_url(invoice: Invoice) -> str:
    for name in FACTURX_DOWNLOAD_NAMES:
        url = optional_reverse(name, invoice.pk)
        if url:
            return url
    return f"/factur-x/{invoice.pk}/"


def pdf_download_url(invoice: Invoice) -> str:
    return optional_reverse(PDF_DOWNLOAD, invoice.pk)
