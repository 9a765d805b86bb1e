"""The current dossier and company of a request, kept in the session.

Every view of the browser application goes through `workspace_required`: it resolves the
user's memberships, picks the dossier (and company) stored in the session when the user is
still a member of it, and exposes them as `request.workspace`. Objects are then always
looked up through `request.workspace.dossier`, so another dossier's URLs answer 404.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from invoicing.models import Company, Dossier, Invoice, Membership

SESSION_DOSSIER = "chorale_dossier_id"
SESSION_COMPANY = "chorale_company_id"


@dataclass
class Workspace:
    membership: Membership
    memberships: list[Membership]
    companies: list[Company] = field(default_factory=list)
    company: Company | None = None

    @property
    def dossier(self) -> Dossier:
        return self.membership.dossier

    @property
    def is_admin(self) -> bool:
        return self.membership.is_admin


def resolve_workspace(request: HttpRequest) -> Workspace | None:
    memberships = list(
        Membership.objects.filter(user=request.user)
        .select_related("dossier")
        .order_by("dossier__name", "dossier_id")
    )
    if not memberships:
        return None
    wanted = request.session.get(SESSION_DOSSIER)
    membership = next((m for m in memberships if m.dossier_id == wanted), memberships[0])
    companies = list(Company.objects.filter(dossier=membership.dossier).order_by("name", "id"))
    wanted_company = request.session.get(SESSION_COMPANY)
    company = next((c for c in companies if c.pk == wanted_company), None)
    if company is None and companies:
        company = _busiest_company(membership.dossier, companies)
    return Workspace(
        membership=membership, memberships=memberships, companies=companies, company=company
    )


def _busiest_company(dossier: Dossier, companies: list[Company]) -> Company:
    """Until the user picks one: the company of the dossier's latest invoice (the one in
    use, not a set-up in progress), else the first by name."""
    latest = (
        Invoice.objects.filter(dossier=dossier)
        .order_by("-created_at", "-id")
        .values_list("company_id", flat=True)
        .first()
    )
    return next((c for c in companies if c.pk == latest), companies[0])


def select_workspace(request: HttpRequest, *, dossier_id: int, company_id: int | None) -> bool:
    """Store the chosen dossier/company if the user belongs to it; False otherwise."""
    membership = Membership.objects.filter(user=request.user, dossier_id=dossier_id).first()
    if membership is None:
        return False
    request.session[SESSION_DOSSIER] = membership.dossier_id
    if company_id and Company.objects.filter(pk=company_id, dossier_id=dossier_id).exists():
        request.session[SESSION_COMPANY] = company_id
    else:
        request.session.pop(SESSION_COMPANY, None)
    return True


def workspace_required(view: Callable) -> Callable:
    """Login required, then `request.workspace`; a user without any dossier gets a 403 page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        workspace = resolve_workspace(request)
        if workspace is None:
            return render(request, "invoicing/no_dossier.html", status=403)
        request.workspace = workspace
        return view(request, *args, **kwargs)

    return wrapper


def admin_required(view: Callable) -> Callable:
    """Dossier administrators only (settings pages); members get 403."""

    @workspace_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.workspace.is_admin:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
