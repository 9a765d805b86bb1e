"""Chorus Pro sending: the yearly plan counters, submissions and their step-by-step reports."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from invoicing.models import Company, Dossier, Invoice


class PlanYear(models.Model):
    """Sends counted for one dossier in one calendar year (Europe/Paris)."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="plan_years")
    year = models.PositiveSmallIntegerField(_("année"))
    used = models.PositiveIntegerField(_("envois décomptés"), default=0)
    reserved = models.PositiveIntegerField(_("envois en cours"), default=0)

    class Meta:
        verbose_name = _("volumétrie annuelle")
        verbose_name_plural = _("volumétries annuelles")
        ordering = ["dossier", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "year"], name="one_plan_year_per_dossier")
        ]

    def __str__(self) -> str:
        return f"{self.dossier} {self.year}: {self.used}/{self.dossier.chorus_yearly_allowance}"


class SubmissionQuerySet(models.QuerySet):
    def for_dossier(self, dossier):
        return self.filter(dossier=dossier)

    def active(self):
        return self.filter(status__in=[Submission.Status.QUEUED, Submission.Status.RUNNING])


class Submission(models.Model):
    """One request to send one invoice to Chorus Pro, and everything that happened to it."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("Envoi en cours")
        DEPOSITED = "deposited", _("Déposée sur Chorus Pro")
        FAILED = "failed", _("Échec")

    class PlanState(models.TextChoices):
        NONE = "none", _("Non décompté")
        RESERVED = "reserved", _("Réservé")
        COUNTED = "counted", _("Décompté")
        RELEASED = "released", _("Libéré")

    class DepositState(models.TextChoices):
        NOT_STARTED = "not_started", _("Pas encore déposée")
        IN_FLIGHT = "in_flight", _("Dépôt envoyé, réponse inconnue")
        DONE = "done", _("Déposée")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="submissions")
    company = models.ForeignKey(Company, on_delete=models.PROTECT, related_name="submissions")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="submissions")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    siret = models.CharField(_("SIRET du client"), max_length=14)
    service_code = models.CharField(
        _("référence acheteur (service exécutant)"), max_length=100, blank=True
    )
    engagement_number = models.CharField(
        _("numéro de commande (engagement juridique)"), max_length=50, blank=True
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    error_code = models.CharField(_("code d'erreur"), max_length=50, blank=True)
    error_message = models.TextField(_("message"), blank=True)
    retryable = models.BooleanField(_("peut être relancé"), default=False)
    plan_warning = models.TextField(_("avertissement de volumétrie"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    finalised_here = models.BooleanField(default=False)
    plan_state = models.CharField(max_length=10, choices=PlanState.choices, default=PlanState.NONE)
    plan_year = models.PositiveSmallIntegerField(null=True, blank=True)
    deposit_state = models.CharField(
        max_length=12, choices=DepositState.choices, default=DepositState.NOT_STARTED
    )
    deposit_started_at = models.DateTimeField(null=True, blank=True)
    # A worker holds the submission until lease_until; another may take over after it.
    lease_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The pre-flight that passed at request time: the worker checks again only if the
    # invoice changed since (invoicing.preflight.ensure_sendable).
    preflight_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    facturx_file = models.BinaryField(null=True, blank=True, editable=False)
    facturx_filename = models.CharField(max_length=200, blank=True)
    flow_number = models.CharField(
        _("numéro de flux"), max_length=50, blank=True
    )  # numeroFluxDepot
    deposited_at = models.DateTimeField(_("déposée le"), null=True, blank=True)
    flow_status = models.CharField(_("statut du flux"), max_length=60, blank=True)
    chorus_invoice_id = models.BigIntegerField(null=True, blank=True)  # identifiantFactureCPP
    chorus_status = models.CharField(_("statut Chorus Pro"), max_length=40, blank=True)
    chorus_status_at = models.DateTimeField(null=True, blank=True)
    sync_done = models.BooleanField(default=False)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("demandé le"), auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        verbose_name = _("envoi Chorus Pro")
        verbose_name_plural = _("envois Chorus Pro")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One invoice is never being sent twice at once, and never deposited twice.
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["queued", "running", "deposited"]),
                name="one_live_submission_per_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["dossier", "-created_at"]),
            models.Index(fields=["status", "updated_at"]),
        ]

    def __str__(self) -> str:
        return f"Envoi #{self.pk} – {self.invoice}"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DEPOSITED, self.Status.FAILED}


class ReportEntry(models.Model):
    """One line of a submission's report, shown live to the user."""

    class Step(models.TextChoices):
        REQUEST = "request", _("Demande d'envoi")
        GATHER = "gather", _("Récupération des informations nécessaires à l'envoi")
        AUTHENTICATE = "authenticate", _("Authentification sur Chorus Pro")
        VERIFY_SIRET = "verify_siret", _("Vérification du Siret destinataire")
        PLAN = "plan", _("Volumétrie")
        FINALISE = "finalise", _("Passage de la facture en définitive")
        BUILD = "build", _("Création et contrôle du Factur-X")
        DEPOSIT = "deposit", _("Dépôt sur Chorus Pro")
        DONE = "done", _("Traitement terminé")
        STATUS = "status", _("Suivi Chorus Pro")

    class Outcome(models.TextChoices):
        OK = "ok", _("OK")
        WARNING = "warning", _("Avertissement")
        ERROR = "error", _("Erreur")
        INFO = "info", _("Information")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="report")
    step = models.CharField(max_length=20, choices=Step.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    message = models.TextField(blank=True)
    # When the step happened (the worker writes a run's lines together, a moment later).
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("ligne de rapport")
        verbose_name_plural = _("rapport d'envoi")

    def __str__(self) -> str:
        return f"{self.get_step_display()} : {self.get_outcome_display()}"


class StatusChange(models.Model):
    """A Chorus Pro status of a deposited invoice, as read by the status sync."""

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="status_changes"
    )
    code = models.CharField(max_length=60)
    changed_at = models.DateTimeField()
    comment = models.TextField(blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "code", "changed_at"], name="one_row_per_status_change"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.changed_at:%d/%m/%Y %H:%M})"
