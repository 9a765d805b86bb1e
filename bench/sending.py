"""End-to-end sending benchmark: N invoices through 2 Celery workers to the Chorus Pro sandbox.

    python bench/sending.py [--invoices 1000] [--workers 2] [--lines 10]
                            [--concurrency 1] [--pool prefork] [--round 250]

Needs PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/chorale_bench,
recreated) and `redis-server` on the PATH (a private one is started). The invoices go in
rounds (--round, 250): each round's requests are made in one transaction (timed apart: in
real life they come from the web, spread out), the window runs from its commit to the last
deposit, then the same invoices are built alone; sending and build-only thus take turns,
so that the machine's drift weighs on both alike. Prints the sending
throughput, p50/p95 time from request to deposited, duplicates (must be 0), the plan count
(must be N) and the CPU each process spent per invoice; then, in the same run, the
throughput of building the same Factur-X files alone on the same workers (a Celery task
that reads the invoice and builds it, `bench/build_only.py`), and, at the end, in a bare
process pool.
Target: sending >= 75 % of build-only on the same workers.
"""

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # not bench/: its facturx.py would shadow the factur-x library
DB_NAME = "chorale_bench"
os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DB_NAME}")
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")  # the build-only processes too


def recreate_database() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU time of a running process (Linux /proc); with `children`, plus that
    of its children already waited for."""
    fields = _stat(pid)
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, command name) of every process."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                head, _, tail = (entry / "stat").read_text().partition(" (")
                name, _, rest = tail.rpartition(") ")
                found.append((int(head), int(rest.split()[1]), name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def tree_cpu_seconds(root: int) -> float:
    """CPU time of a process and all its live descendants (a worker and its Saxon child)."""
    processes = _processes()
    pids, frontier = set(), {root}
    while frontier:
        pids |= frontier
        frontier = {pid for pid, ppid, _ in processes if ppid in frontier} - pids
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid, children=True)
        except FileNotFoundError:
            continue
    return total


def postgres_cpu_seconds() -> float:
    """CPU time of the PostgreSQL server: every live process plus the exited backends (the
    postmaster's waited-for children)."""
    total = 0.0
    for pid, ppid, name in _processes():
        if name.startswith("postgres"):
            try:
                total += cpu_seconds(pid, children=ppid == 1)
            except FileNotFoundError:
                continue
    return total


def build_one(invoice_id: int) -> float:
    from facturx_export.services import facturx_build
    from invoicing.models import Invoice

    invoice = Invoice.objects.select_related("company", "customer").get(pk=invoice_id)
    start = time.perf_counter()
    facturx_build(invoice)
    return time.perf_counter() - start


def _init_build_process() -> None:
    import django

    django.setup()
    from facturx_export import checks

    checks.warm_up()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lines", type=int, default=10)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="tasks each worker runs at once (pool processes with prefork)",
    )
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument(
        "--round", type=int, default=250, help="invoices per round (sending, then build-only)"
    )
    args = parser.parse_args()

    recreate_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import redis as redis_client
    from django.db import transaction
    from django.db.models import Max

    from bench.build_only import build_only
    from chorus.models import PlanYear, Submission
    from chorus.sandbox import seed
    from chorus.services.sending import submission_request
    from invoicing import services
    from invoicing.models import Company, Customer, Dossier
    from settings.celery import app as celery_app
    from tests.processes import CeleryWorker, RedisServer, free_port, wait_for_port

    account = next(a for a in seed.ACCOUNTS if a.scenario == "ok")
    dossier = Dossier.objects.create(
        name="Bench", facturx_module_enabled=True, chorus_yearly_allowance=args.invoices
    )
    company = Company.objects.create(
        dossier=dossier,
        name="Chorale Bench SARL",
        legal_form="SARL",
        siren="841234511",
        siret=seed.SUPPLIER_SIRET,
        vat_number="FR31841234511",
        address_line1="1 rue du Banc",
        postcode="51100",
        city="Reims",
        iban="FR7630006000011234567890189",
        chorus_login=account.login,
        chorus_password=account.password,
    )
    customer = Customer.objects.create(
        dossier=dossier,
        code="PUB",
        kind=Customer.Kind.COMPANY,
        name="Commune de Banc",
        address_line1="1 place",
        postcode="75001",
        city="Paris",
        chorus_enabled=True,
        siret=seed.BUYER_NONE,
    )
    lines = [
        services.LineInput(label=f"Prestation n°{n}", quantity="3", unit_price="123.45")
        for n in range(args.lines)
    ]
    invoices = [
        services.invoice_create(company=company, customer=customer, lines=lines)
        for _ in range(args.invoices)
    ]

    sandbox_port = free_port()
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "chorus.sandbox", "--port", str(sandbox_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(sandbox_port)
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    client = seed.PISTE_CLIENTS[0]
    redis = RedisServer()
    redis.start()
    os.environ["CELERY_BROKER_URL"] = redis.url  # Celery reads it before its configuration
    celery_app.conf.broker_url = redis.url
    env = {
        "CELERY_BROKER_URL": redis.url,
        "CHORUS_API_URL": sandbox_url,
        "CHORUS_CLIENT_ID": client.client_id,
        "CHORUS_CLIENT_SECRET": client.client_secret,
        "LOG_LEVEL": "WARNING",
    }
    workers = [
        CeleryWorker(
            env,
            concurrency=args.concurrency,
            name=f"bench{n}",
            include="bench.build_only",
            pool=args.pool,
        )
        for n in range(args.workers)
    ]

    def role_cpu() -> dict[str, float]:
        processes = _processes()
        roles = {"  main": 0.0, "  pool": 0.0, "  saxon": 0.0}
        for worker in workers:
            main = worker.process.pid
            roles["  main"] += cpu_seconds(main)
            for pid, ppid, _ in processes:
                if ppid == main:
                    roles["  pool"] += cpu_seconds(pid)
                    for cpid, cppid, _ in processes:
                        if cppid == pid:
                            roles["  saxon"] += cpu_seconds(cpid)
        return roles

    def cpu_now() -> dict[str, float]:
        return {
            **role_cpu(),
            "workers": sum(tree_cpu_seconds(w.process.pid) for w in workers),
            "postgres": postgres_cpu_seconds(),
            "sandbox": cpu_seconds(sandbox.pid),
            "redis": cpu_seconds(redis.process.pid),
            "bench (enqueue, polling)": time.process_time(),
        }

    def add(totals: dict[str, float], before: dict[str, float], after: dict[str, float]):
        for name in before:
            totals[name] = totals.get(name, 0.0) + after[name] - before[name]

    # The machine's speed drifts over minutes: sending and build-only take turns, round by
    # round, on a slice of the invoices each, so that drift weighs on both alike.
    rounds = [invoices[i : i + args.round] for i in range(0, len(invoices), args.round)]
    elapsed = request_elapsed = build_elapsed = 0.0
    send_cpu: dict[str, float] = {}
    build_cpus: dict[str, float] = {}
    ids = []
    try:
        for worker in workers:
            worker.start()
        counter = redis_client.Redis.from_url(redis.url)
        for batch in rounds:
            # Requests are the web's work, spread over the day: made in one transaction
            # (timed apart), every task reaches the workers when it commits. The window
            # measured is the workers': from that commit to the last deposit.
            request_start = time.perf_counter()
            with transaction.atomic():
                submissions = [
                    submission_request(invoice_ids=[inv.pk], dossier=dossier, siret=customer.siret)
                    for inv in batch
                ]
                request_elapsed += time.perf_counter() - request_start
                before = cpu_now()
                started = time.time()
            ids += [s.pk for s in submissions]
            # Polled seldom (the poll is the bench's work, not the sending's); the window
            # ends at the last deposit the workers recorded.
            pending = Submission.objects.filter(dossier=dossier).active()
            while pending.exists():
                time.sleep(0.5)
            add(send_cpu, before, cpu_now())
            last = Submission.objects.filter(pk__in=[s.pk for s in submissions]).aggregate(
                last=Max("deposited_at")
            )["last"]
            elapsed += last.timestamp() - started

            # Build-only reference: the same (now final) invoices, on the same workers.
            counter.set("bench:built", 0)
            before = cpu_now()
            build_start = time.time()
            for inv in batch:
                build_only.delay(inv.pk, redis.url)
            while int(counter.get("bench:built") or 0) < len(batch):
                time.sleep(0.5)
            add(build_cpus, before, cpu_now())
            build_elapsed += float(counter.get("bench:last")) - build_start
    finally:
        for worker in workers:
            worker.stop()
        redis.stop()

    import json
    import urllib.request

    with urllib.request.urlopen(f"{sandbox_url}/_sim/stats") as response:
        stats = json.loads(response.read())
    sandbox.terminate()
    rows = list(
        Submission.objects.filter(pk__in=ids).values("status", "created_at", "deposited_at")
    )
    deposited = [r for r in rows if r["status"] == Submission.Status.DEPOSITED]
    latencies = sorted((r["deposited_at"] - r["created_at"]).total_seconds() for r in deposited)
    duplicates = sum(1 for count in stats["deposits_by_invoice_number"].values() if count > 1)
    plan_count = PlanYear.objects.get(dossier=dossier).used
    send_rate = len(deposited) / elapsed
    build_cpu, build_pg = build_cpus["workers"], build_cpus["postgres"]

    # A second reference, without Celery: the same builds in a bare process pool.
    with multiprocessing.get_context("spawn").Pool(
        args.workers, initializer=_init_build_process
    ) as pool:
        pool.map(time.sleep, [0.5] * args.workers)  # every process started and warmed up
        pool_start = time.perf_counter()
        pool.map(build_one, [inv.pk for inv in invoices], chunksize=4)
        pool_elapsed = time.perf_counter() - pool_start
    build_rate = len(invoices) / build_elapsed
    pool_rate = len(invoices) / pool_elapsed

    print(
        f"invoices: {args.invoices} x {args.lines} lines, workers: {args.workers} "
        f"x {args.concurrency} ({args.pool} pool)"
    )
    print(f"deposited: {len(deposited)}, failed: {len(rows) - len(deposited)}")
    print(f"sending throughput: {send_rate:.1f} invoices/s ({elapsed:.1f} s)")
    print(
        f"request -> deposited: p50 {statistics.median(latencies):.2f} s, "
        f"p95 {latencies[int(len(latencies) * 0.95) - 1]:.2f} s"
    )
    print(
        f"requests (web side, before the window): {args.invoices} in {request_elapsed:.1f} s, "
        f"{1000 * request_elapsed / args.invoices:.0f} ms each"
    )
    per_invoice = 1000 / len(invoices)
    print("CPU per invoice while sending (ms):")
    for name, seconds in send_cpu.items():
        print(f"  {name:<26} {seconds * per_invoice:6.1f}")
    print(
        f"  {'total':<26} {sum(v for k, v in send_cpu.items() if k[0] != ' ') * per_invoice:6.1f}"
    )
    for name in ("  main", "  pool", "  saxon"):
        print(f"  build-only {name:<15} {build_cpus[name] * per_invoice:6.1f}")
    print(
        f"CPU per invoice while building only (ms): workers {build_cpu * per_invoice:.1f}, "
        f"postgres {build_pg * per_invoice:.1f}"
    )
    print(f"duplicates: {duplicates}")
    print(f"plan count: {plan_count} (expected {args.invoices})")
    print(
        f"build-only throughput, same workers: {build_rate:.1f} invoices/s ({build_elapsed:.1f} s)"
    )
    print(f"sending / build-only: {100 * send_rate / build_rate:.0f} % (target >= 75 %)")
    print(
        f"build-only in a bare process pool (no Celery): {pool_rate:.1f} invoices/s; "
        f"sending / that: {100 * send_rate / pool_rate:.0f} %"
    )
    ok = duplicates == 0 and plan_count == len(deposited) == args.invoices
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
