"""Sending one invoice to Chorus Pro: the request, then the steps run by the worker.

Every step is safe to run again. A retry after a crash never renumbers (finalisation is
idempotent), never deposits twice (a deposit whose answer was lost is looked up on Chorus
Pro before any new deposit) and never counts twice (the plan moves reserved -> counted once,
under a row lock).
"""

import datetime
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from stdnum.fr import siret as stdnum_siret

from chorus.client import ChorusClient, StructureDetail
from chorus.errors import ChorusError
from chorus.models import ReportEntry, Submission
from chorus.services import plan
from chorus.services.connection import client_for
from facturx_export.services import FacturxCheckError, facturx_build, facturx_filename
from invoicing.models import FinalInvoiceError, Invoice
from invoicing.services import invoice_check, invoice_finalise

logger = logging.getLogger(__name__)
Step = ReportEntry.Step
Outcome = ReportEntry.Outcome

SUCCESS_MESSAGE = gettext_lazy("Votre Facture-X a été déposée avec succès sur Chorus Pro.")


class SendRefused(Exception):
    """The request cannot be accepted; `message` says why, in French, and what to do."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class RetryLater(Exception):
    """A transient fault: the task should run the submission again after a back-off."""


# --- the request (web) ------------------------------------------------------------------


def final_invoice_message() -> str:
    return _(
        "Cette facture est définitive vous ne pouvez plus l'envoyer sur Chorus Pro par le lien "
        "automatique, vous devez donc déposer le pdf de cette facture manuellement sur Chorus "
        "Pro. Téléchargez son Factur-X depuis la fiche de la facture."
    )


def _several_invoices_message() -> str:
    return _(
        "Vous ne pouvez pas envoyer plusieurs factures vers Chorus Pro, il faut le faire une "
        "par une, veuillez corriger."
    )


def submission_request(
    *,
    invoice_ids: list[int],
    dossier,
    user=None,
    siret: str,
    service_code: str = "",
    engagement_number: str = "",
) -> Submission:
    """Check what can be checked at once, then queue a submission (task enqueued on commit).

    Raises SendRefused with the French message of the first refusal.
    """

    if len(invoice_ids) != 1:
        raise SendRefused(_several_invoices_message())
    if not dossier.facturx_module_enabled:
        raise SendRefused(
            _(
                "Le module « Émission Factur-X » n'est pas activé pour ce dossier. Un "
                "administrateur du dossier peut l'activer dans Paramètres > Modules."
            )
        )
    siret = "".join(siret.split())
    service_code, engagement_number = service_code.strip(), engagement_number.strip()
    with transaction.atomic():
        invoice = (
            Invoice.objects.select_for_update(of=("self",), no_key=True)
            .select_related("company", "customer")
            .filter(dossier=dossier, pk=invoice_ids[0])
            .first()
        )
        if invoice is None:
            raise SendRefused(_("Facture introuvable."))
        company, customer = invoice.company, invoice.customer
        if invoice.is_final:
            retry = invoice.submissions.filter(status=Submission.Status.FAILED, finalised_here=True)
            if retry.exists():
                raise SendRefused(
                    _(
                        "Cette facture a déjà été rendue définitive par un envoi qui a échoué : "
                        "ouvrez son rapport d'envoi et cliquez sur « Réessayer »."
                    )
                )
            raise SendRefused(final_invoice_message())
        if invoice.submissions.filter(
            status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING]
        ).exists():
            raise SendRefused(_("Cette facture est déjà en cours d'envoi vers Chorus Pro."))
        if company.secrets_to_reenter:
            raise SendRefused(
                _(
                    "À ressaisir pour l'entreprise %(company)s : %(secrets)s (la clé de "
                    "chiffrement du serveur a changé). Saisissez-les à nouveau dans "
                    "Paramètres > Entreprise."
                )
                % {"company": company.name, "secrets": ", ".join(company.secrets_to_reenter)}
            )
        if not company.has_chorus_credentials:
            raise SendRefused(
                _(
                    "Le compte technique Chorus Pro de l'entreprise %(company)s n'est pas "
                    "renseigné : saisissez son login et son mot de passe dans Paramètres > "
                    "Entreprise."
                )
                % {"company": company.name}
            )
        if not (customer.has_chorus_zone and customer.chorus_enabled):
            raise SendRefused(
                _(
                    "Le client %(customer)s n'est pas paramétré pour l'envoi vers Chorus Pro : "
                    "cochez « Envoi vers Chorus Pro » sur sa fiche (clients de type Société ou "
                    "Entreprise individuelle)."
                )
                % {"customer": customer.name}
            )
        if not siret:
            raise SendRefused(_("Le Siret du client est obligatoire pour l'envoi."))
        if not stdnum_siret.is_valid(siret):
            raise SendRefused(
                _("« %(siret)s » n'est pas un SIRET valide (14 chiffres, clé de contrôle).")
                % {"siret": siret}
            )
        # The pre-flight, on the invoice as this sending will freeze it: a file that would
        # fail is refused now, before any number is used.
        problems, fingerprint = invoice_check(
            invoice,
            buyer_siret=siret,
            buyer_reference=service_code,
            order_reference=engagement_number,
        )
        if problems:
            raise SendRefused(preflight_refusal(problems))
        if plan.plan_requestable(dossier) <= 0:
            raise SendRefused(plan.exhausted_message(dossier.chorus_yearly_allowance))
        try:
            with transaction.atomic():
                submission = Submission.objects.create(
                    dossier=dossier,
                    company=company,
                    invoice=invoice,
                    requested_by=user if user and user.is_authenticated else None,
                    siret=siret,
                    service_code=service_code,
                    engagement_number=engagement_number,
                    plan_warning=plan.plan_warning(dossier),
                    preflight_fingerprint=fingerprint,
                )
        except IntegrityError as exc:
            raise SendRefused(
                _("Cette facture est déjà en cours d'envoi vers Chorus Pro.")
            ) from exc
        _report(submission, Step.REQUEST, Outcome.OK, _("Demande d'envoi enregistrée."))
        if submission.plan_warning:
            _report(submission, Step.PLAN, Outcome.WARNING, submission.plan_warning)
        _enqueue_on_commit(submission.pk)
    logger.info("submission %s queued for invoice %s", submission.pk, invoice.pk)
    return submission


def preflight_refusal(problems: list) -> str:
    lines = "\n".join(f"- {problem.message}" for problem in problems)
    return _(
        "La facture n'est pas envoyée : elle ne passe pas le contrôle du Factur-X. Elle reste "
        "provisoire, sans numéro ; corrigez-la (voir le panneau « Contrôle ») puis envoyez-la "
        "de nouveau.\n%(problems)s"
    ) % {"problems": lines}


def _enqueue_on_commit(submission_id: int) -> None:
    """Enqueue after commit; a broker that is down loses nothing (the sweeper re-enqueues
    queued rows), so its error must not turn the user's request into a server error."""
    from chorus import tasks

    def enqueue() -> None:  # named: Django logs a failed robust hook by its __qualname__
        tasks.send_submission.delay(submission_id)

    transaction.on_commit(enqueue, robust=True)


@transaction.atomic
def submission_retry(*, submission: Submission) -> Submission:
    """Queue a failed submission again (same invoice, same file, never a second deposit)."""

    submission = _locked(submission)
    if submission.status != Submission.Status.FAILED or not submission.retryable:
        raise SendRefused(_("Cet envoi ne peut pas être relancé."))
    submission.status = Submission.Status.QUEUED
    submission.retryable = False
    submission.error_code = ""
    submission.error_message = ""
    submission.next_attempt_at = None
    try:
        with transaction.atomic():
            submission.save(update_fields=RESULT_FIELDS)
    except IntegrityError as exc:  # another sending of this invoice is live
        raise SendRefused(_("Cette facture est déjà en cours d'envoi vers Chorus Pro.")) from exc
    _report(submission, Step.REQUEST, Outcome.INFO, _("Nouvel essai demandé."))
    _enqueue_on_commit(submission.pk)
    return submission


def submission_postpone(*, submission_id: int, seconds: int) -> None:
    """Tell the sweeper a retry is planned: it leaves the submission alone until then."""
    grace = datetime.timedelta(seconds=seconds + settings.CHORUS_STUCK_AFTER)
    Submission.objects.filter(pk=submission_id, status=Submission.Status.QUEUED).update(
        next_attempt_at=timezone.now() + grace
    )


# --- the steps (worker) -----------------------------------------------------------------


def _report(submission: Submission, step: str, outcome: str, message: str = "") -> None:
    ReportEntry.objects.create(submission=submission, step=step, outcome=outcome, message=message)


def _claim(submission_id: int) -> Submission | None:
    """Take the submission for this worker, unless another live worker holds it."""
    now = timezone.now()
    # Longer than the task's hard time limit: a live worker never loses its lease.
    lease = now + datetime.timedelta(seconds=settings.CHORUS_SEND_TIME_LIMIT + 10)
    claimed = (
        Submission.objects.filter(pk=submission_id)
        .filter(
            Q(status=Submission.Status.QUEUED)
            | Q(status=Submission.Status.RUNNING, lease_until__lt=now)
        )
        .update(
            status=Submission.Status.RUNNING,
            lease_until=lease,
            attempts=F("attempts") + 1,
            updated_at=now,
        )
    )
    if not claimed:
        return None
    return Submission.objects.select_related("invoice", "company", "dossier").get(pk=submission_id)


class _RunReport:
    """The report lines of one run of the worker, written with the run's next transaction
    (which it makes anyway) rather than one insert each: the user sees them a moment later.
    The lines of a run cut short by a crash are lost; the next run reports again."""

    def __init__(self, submission_id: int):
        self.submission_id = submission_id
        self.pending: list[ReportEntry] = []

    def add(self, step: str, outcome: str, message: str = "") -> None:
        self.pending.append(
            ReportEntry(
                submission_id=self.submission_id,
                step=step,
                outcome=outcome,
                message=message,
                at=timezone.now(),
            )
        )

    def write(self) -> None:
        if self.pending:
            ReportEntry.objects.bulk_create(self.pending)
            self.pending = []


@dataclass
class _Failure(Exception):
    step: str
    code: str
    message: str
    transient: bool
    retry_useless: bool = False  # the same run would fail the same way: no « Réessayer »


def submission_send(*, submission_id: int, final_attempt: bool = True) -> Submission | None:
    """Run (or resume) the sending of one submission. Raises RetryLater on transient faults
    while attempts remain; otherwise ends the submission deposited or failed."""
    submission = _claim(submission_id)
    if submission is None:
        return None
    report = _RunReport(submission_id)
    try:
        _run_steps(submission, report)
    except _Failure as failure:
        return _on_failure(submission, failure, report, final_attempt=final_attempt)
    except Exception:
        logger.exception("submission %s: unexpected error", submission_id)
        failure = _Failure(
            Step.DONE,
            "internal_error",
            _("Une erreur inattendue est survenue ; l'envoi pourra être relancé."),
            True,
        )
        return _on_failure(submission, failure, report, final_attempt=final_attempt)
    return submission


def _chorus_failure(step: str, exc: ChorusError) -> _Failure:
    return _Failure(step, exc.code, exc.message_fr, exc.transient)


def _run_steps(submission: Submission, report: _RunReport) -> None:
    invoice, company = submission.invoice, submission.company
    # 1. Gather.
    if invoice.is_final and not submission.finalised_here:
        raise _Failure(Step.GATHER, "invoice_final", final_invoice_message(), False)
    if not company.has_chorus_credentials:
        raise _Failure(
            Step.GATHER,
            "credentials_missing",
            _("Le compte technique Chorus Pro de l'entreprise n'est pas renseigné."),
            False,
        )
    report.add(Step.GATHER, Outcome.OK)
    client = client_for(company)

    # 2. Authenticate (token + technical account).
    try:
        _check_account(client)
    except ChorusError as exc:
        raise _chorus_failure(Step.AUTHENTICATE, exc) from None
    report.add(Step.AUTHENTICATE, Outcome.OK, company.chorus_login)

    if not submission.finalised_here:
        # 3. Verify the buyer's structure and what it requires.
        _verify_buyer(client, submission, report)
        # 4-5. Reserve one send and finalise, in one transaction: an exhausted plan leaves
        # the invoice provisional, and a refused finalisation reserves nothing.
        invoice = _reserve_and_finalise(submission, report)

    # 6. Build and check the Factur-X (once: a retry deposits the very same file).
    new_file = not submission.facturx_file
    if new_file:
        try:
            content = facturx_build(invoice)
        except DatabaseError:
            raise  # not the file's fault: a later attempt builds it
        except Exception as exc:  # a defect: the pre-flight passed on the same content
            logger.exception("submission %s: the final invoice could not be built", submission.pk)
            raise _Failure(
                Step.BUILD, "facturx_invalid", final_build_failure(invoice, exc), False, True
            ) from None
        submission.facturx_file = content
        submission.facturx_filename = facturx_filename(invoice)
        report.add(Step.BUILD, Outcome.OK, submission.facturx_filename)
    if submission.plan_state != Submission.PlanState.RESERVED:  # released by a failed run
        try:
            plan.plan_reserve(submission_id=submission.pk)
        except plan.PlanExhausted as exc:
            raise _Failure(Step.PLAN, "plan_exhausted", str(exc), False) from None
        submission.refresh_from_db(fields=["plan_state", "plan_year"])

    # 7. Deposit, exactly once.
    _deposit(client, submission, invoice, report, store_file=new_file)


def final_build_failure(invoice: Invoice, exc: Exception) -> str:
    reason = str(exc) if isinstance(exc, FacturxCheckError) else exc.__class__.__name__
    return _(
        "Le Factur-X de la facture %(number)s n'a pas pu être créé, alors que son contrôle "
        "avant numérotation avait réussi (anomalie à signaler). La facture est définitive : "
        "corrigez-la par un avoir, puis établissez une nouvelle facture. Détail : %(reason)s"
    ) % {"number": invoice.number, "reason": reason}


def _check_account(client: ChorusClient) -> None:
    """Token + technical account, asked of Chorus Pro at most once per
    CHORUS_ACCOUNT_CHECK_SECONDS per account: a batch of sendings does not put the same
    question to a rate-limited API for every invoice. Should the account break within that
    window, the deposit is refused with the same message (the invoice is then final and its
    sending can be retried once the account is fixed)."""
    seconds = settings.CHORUS_ACCOUNT_CHECK_SECONDS
    config = client.settings
    account = salted_hmac(
        "chorus-account", f"{config.client_id}\0{config.login}\0{config.password}"
    ).hexdigest()  # the cache key must not reveal the password
    key = f"chorus:account-ok:{config.api_base_url}:{account}"
    if seconds and cache.get(key):
        return
    client.check_connection()
    if seconds:
        cache.set(key, True, seconds)


@dataclass(frozen=True)
class BuyerStructure:
    detail: StructureDetail
    service_codes: frozenset[str]  # active, selectable services


def buyer_structure(client: ChorusClient, siret: str) -> BuyerStructure:
    """The buyer's structure and services, cached a few minutes per platform and SIRET:
    they rarely change, and a worker sending a batch asks for the same buyers again."""
    key = f"chorus:structure:{client.settings.api_base_url}:{siret}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    structure = client.find_structure_by_siret(siret)
    detail = client.get_structure(structure.id_structure_cpp)
    services = client.list_services(structure.id_structure_cpp)
    found = BuyerStructure(detail, frozenset(s.code for s in services if s.is_selectable))
    cache.set(key, found, settings.CHORUS_STRUCTURE_CACHE_SECONDS)
    return found


def _verify_buyer(client: ChorusClient, submission: Submission, report: _RunReport) -> None:
    try:
        buyer = buyer_structure(client, submission.siret)
    except ChorusError as exc:
        message = exc.message_fr
        if exc.transient:
            message = _("Problème technique lors de la vérification du Siret. %(detail)s") % {
                "detail": exc.message_fr
            }
        raise _Failure(Step.VERIFY_SIRET, exc.code, message, exc.transient) from None
    detail = buyer.detail
    requirement = detail.requirement
    if not requirement.is_satisfied_by(
        service_code=submission.service_code, engagement_number=submission.engagement_number
    ):
        raise _Failure(
            Step.VERIFY_SIRET,
            f"requires_{requirement.value}",
            requirement_message(requirement.value, detail.name),
            False,
        )
    if submission.service_code and submission.service_code not in buyer.service_codes:
        raise _Failure(
            Step.VERIFY_SIRET,
            "service_unknown",
            _(
                "Le service « %(code)s » n'existe pas ou n'est pas actif chez %(name)s : "
                "vérifiez la référence acheteur (service exécutant) auprès du client."
            )
            % {"code": submission.service_code, "name": detail.name},
            False,
        )
    report.add(
        Step.VERIFY_SIRET,
        Outcome.OK,
        _("%(name)s (SIRET %(siret)s)") % {"name": detail.name, "siret": submission.siret},
    )


def requirement_message(requirement: str, structure_name: str) -> str:
    what = {
        "service": _("la référence acheteur (service exécutant)"),
        "engagement": _("le numéro de commande (engagement juridique)"),
        "service_and_engagement": _(
            "la référence acheteur (service exécutant) et le numéro de commande (engagement "
            "juridique)"
        ),
        "service_or_engagement": _(
            "la référence acheteur (service exécutant) ou le numéro de commande (engagement "
            "juridique)"
        ),
    }.get(requirement, "")
    return _("%(name)s exige %(what)s : renseignez-le puis envoyez de nouveau la facture.") % {
        "name": structure_name,
        "what": what,
    }


def _reserve_and_finalise(submission: Submission, report: _RunReport) -> Invoice:
    """Reserve one send and finalise the invoice, in one transaction. This run holds the
    submission's lease, so its row is as the claim read it; the conditional UPDATE that
    records the reservation makes sure of it (another claim or a row changed meanwhile
    rolls everything back)."""
    with transaction.atomic():
        try:
            year = plan.reserve_send(submission.dossier)
        except plan.PlanExhausted as exc:
            raise _Failure(Step.PLAN, "plan_exhausted", str(exc), False) from None
        try:
            final = invoice_finalise(
                invoice_id=submission.invoice_id,
                buyer_siret=submission.siret,
                buyer_reference=submission.service_code,
                order_reference=submission.engagement_number,
                already_final_ok=False,
                checked_fingerprint=submission.preflight_fingerprint,
            )
        except FinalInvoiceError:  # finalised elsewhere since the request
            raise _Failure(Step.GATHER, "invoice_final", final_invoice_message(), False) from None
        except ValidationError as exc:
            raise _Failure(
                Step.FINALISE, "invoice_invalid", "; ".join(exc.messages), False
            ) from None
        # Not updated_at: while a submission runs, its lease tells the sweeper it is alive,
        # and leaving the indexed columns alone lets PostgreSQL update the row in place.
        recorded = Submission.objects.filter(
            pk=submission.pk,
            status=Submission.Status.RUNNING,
            attempts=submission.attempts,  # still this run's claim
            plan_state=submission.plan_state,
            finalised_here=False,
        ).update(plan_state=Submission.PlanState.RESERVED, plan_year=year, finalised_here=True)
        if not recorded:
            raise RuntimeError(f"submission {submission.pk} changed while being finalised")
        report.add(Step.FINALISE, Outcome.OK, _("Facture n° %(n)s") % {"n": final.number})
        report.write()
    submission.plan_state, submission.plan_year = Submission.PlanState.RESERVED, year
    submission.finalised_here = True
    submission.invoice = final
    return final


# Deposit failures that prove Chorus Pro created no flow (nothing sent, or refused outright).
# Anything else may have been received: the submission stays "in flight" and is looked up.
NOT_RECEIVED = {
    "platform_unreachable",
    "rate_limited",
    "platform_error",  # a 503 from the gateway; 500/502/504 come as deposit_outcome_unknown
    "deposit_rejected",
    "request_rejected",
    "business_error",
    "credentials_missing",
    "auth_ldap",
    "gp_not_found",
    "api_not_subscribed",
    "piste_bad_client",
    "piste_token_error",
    "piste_token_rejected",
    "route_not_found",
}


def _deposit(
    client: ChorusClient,
    submission: Submission,
    invoice: Invoice,
    report: _RunReport,
    *,
    store_file: bool,
) -> None:
    if submission.deposit_state == Submission.DepositState.DONE:
        return _record_deposit(submission, submission.flow_number, None, report)
    if submission.deposit_state == Submission.DepositState.IN_FLIGHT:
        # A previous attempt's answer was lost: ask Chorus Pro before depositing again.
        try:
            found = client.find_supplier_invoice(invoice.number, recipient_siret=submission.siret)
        except ChorusError as exc:
            raise _chorus_failure(Step.DEPOSIT, exc) from None
        if found is not None:
            report.add(
                Step.DEPOSIT,
                Outcome.INFO,
                _("La facture était déjà reçue par Chorus Pro (flux %(flow)s).")
                % {"flow": found.flow_number},
            )
            return _record_deposit(submission, found.flow_number, found.id_invoice_cpp, report)
        waited = timezone.now() - submission.deposit_started_at
        if waited.total_seconds() < settings.CHORUS_REDEPOSIT_AFTER:
            raise _Failure(
                Step.DEPOSIT,
                "deposit_outcome_unknown",
                _(
                    "La réponse de Chorus Pro au dépôt n'est pas parvenue ; la facture est "
                    "recherchée sur Chorus Pro avant tout nouveau dépôt."
                ),
                True,
            )
    submission.deposit_state = Submission.DepositState.IN_FLIGHT
    submission.deposit_started_at = timezone.now()
    marker = {
        "deposit_state": submission.deposit_state,
        "deposit_started_at": submission.deposit_started_at,
    }
    if store_file:  # kept before it leaves, so that any later run deposits this very file
        marker["facturx_file"] = submission.facturx_file
        marker["facturx_filename"] = submission.facturx_filename
    Submission.objects.filter(pk=submission.pk).update(**marker)  # not updated_at, as above
    try:
        result = client.deposit_facturx(
            bytes(submission.facturx_file), invoice_number=invoice.number
        )
    except ChorusError as exc:
        if exc.code in NOT_RECEIVED:
            Submission.objects.filter(pk=submission.pk).update(
                deposit_state=Submission.DepositState.NOT_STARTED
            )
            submission.deposit_state = Submission.DepositState.NOT_STARTED
        raise _chorus_failure(Step.DEPOSIT, exc) from None
    # Chorus Pro has the flow: write its number down before anything else can fail or
    # wait (the record below may queue on the plan's row), so that a run after a crash
    # records this deposit and never makes another.
    submission.flow_number = result.flow_number
    submission.deposit_state = Submission.DepositState.DONE
    Submission.objects.filter(pk=submission.pk).update(
        flow_number=result.flow_number, deposit_state=Submission.DepositState.DONE
    )
    _record_deposit(submission, result.flow_number, None, report)


# What the end of a sending writes (never the stored file again).
RESULT_FIELDS = [
    "status",
    "error_code",
    "error_message",
    "retryable",
    "flow_number",
    "chorus_invoice_id",
    "deposit_state",
    "deposited_at",
    "plan_state",
    "lease_until",
    "next_attempt_at",
    "updated_at",
]


def _locked(submission: Submission) -> Submission:
    """The submission's row, locked, without its stored file (heavy, and not needed)."""
    return (
        Submission.objects.select_for_update(no_key=True)
        .defer("facturx_file")
        .get(pk=submission.pk)
    )


def _record_deposit(
    submission: Submission, flow_number: str, chorus_invoice_id: int | None, report: _RunReport
):
    """Record the deposit and count it, once. This run holds the lease, so the row's plan
    state is the one it knows: one conditional UPDATE takes the row and records (a run that
    finds it recorded already stops there)."""
    known = submission.plan_state
    counted = Submission.PlanState.COUNTED if known == Submission.PlanState.RESERVED else known
    now = timezone.now()
    with transaction.atomic():
        recorded = (
            Submission.objects.filter(pk=submission.pk, plan_state=known)
            .exclude(status=Submission.Status.DEPOSITED)
            .update(
                status=Submission.Status.DEPOSITED,
                error_code="",
                error_message="",
                retryable=False,
                flow_number=flow_number,
                chorus_invoice_id=chorus_invoice_id,
                deposit_state=Submission.DepositState.DONE,
                deposited_at=now,
                plan_state=counted,
                lease_until=None,
                next_attempt_at=None,
                updated_at=now,
            )
        )
        if recorded:
            plan.plan_commit(submission)  # the year's count: reserved -> counted
            report.add(Step.DEPOSIT, Outcome.OK, _("Flux n° %(flow)s") % {"flow": flow_number})
            report.add(Step.DONE, Outcome.OK, str(SUCCESS_MESSAGE))
            report.write()
    if not recorded:
        if Submission.objects.filter(pk=submission.pk, status=Submission.Status.DEPOSITED).exists():
            return
        # Changed under this run's lease: let a later run record it from the row as it is.
        raise RuntimeError(f"submission {submission.pk} changed while recording its deposit")
    submission.status, submission.flow_number = Submission.Status.DEPOSITED, flow_number
    logger.info("submission %s deposited as flow %s", submission.pk, flow_number)


def _on_failure(
    submission: Submission, failure: _Failure, report: _RunReport, *, final_attempt: bool
):
    logger.warning(
        "submission %s failed at %s: %s (transient=%s)",
        submission.pk,
        failure.step,
        failure.code,
        failure.transient,
    )
    with transaction.atomic():
        locked = _locked(submission)
        # Once a deposit may have reached Chorus Pro, the send stays reserved and is resumed.
        in_flight = locked.deposit_state in {
            Submission.DepositState.IN_FLIGHT,
            Submission.DepositState.DONE,
        }
        if failure.transient and in_flight and final_attempt:
            # Never give up on a deposit whose outcome is unknown: the sweeper asks Chorus
            # Pro again later, and deposits again only if Chorus Pro still does not know it.
            report.add(failure.step, Outcome.WARNING, failure.message)
            locked.status = Submission.Status.QUEUED
            locked.lease_until = None
            locked.next_attempt_at = timezone.now() + datetime.timedelta(
                seconds=settings.CHORUS_REDEPOSIT_AFTER
            )
            locked.save(update_fields=["status", "lease_until", "next_attempt_at", "updated_at"])
            report.write()
            return locked
        if failure.transient and not final_attempt:
            report.add(
                failure.step,
                Outcome.WARNING,
                failure.message + " " + _("Nouvel essai automatique dans quelques instants."),
            )
            locked.status = Submission.Status.QUEUED
            locked.lease_until = None
            locked.save(update_fields=["status", "lease_until", "updated_at"])
            report.write()
            retry_later = True
        else:
            retry_later = False
            report.add(failure.step, Outcome.ERROR, failure.message)
            report.add(Step.DONE, Outcome.INFO, _("Traitement terminé."))
            if not in_flight:
                plan.plan_release(locked)
            locked.status = Submission.Status.FAILED
            locked.error_code = failure.code
            locked.error_message = failure.message
            # After finalisation the invoice is frozen: the same submission must be retried.
            locked.retryable = not failure.retry_useless and (
                failure.transient or locked.finalised_here
            )
            locked.lease_until = None
            locked.save(update_fields=RESULT_FIELDS)
            report.write()
    if retry_later:  # outside the transaction, which must commit the QUEUED state first
        raise RetryLater(failure.code)
    return locked
