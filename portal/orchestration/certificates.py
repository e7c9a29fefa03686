"""Automatic certificates: when to order, the order itself, renewals, backoff and the CA's rate limits.

A website on automatic certificates has one Certificate row (sync()). The worker's sweeper hands the due
ones to a worker (sweep_due()): first once the website's config (with its http-01 location) is applied,
then at renew_at, or after a wait. Before any order the names must point at the web server, and the
CA's published limits must leave room; otherwise the certificate waits, with the reason, and nothing
reaches the CA. The key is made on the web server; the chain goes live through a normal Website save,
so `nginx -t` guards it and the serving certificate stays until the new one passes.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import datetime, timedelta
from typing import Any

import dns.exception
import dns.rdatatype
import dns.resolver
import sqlalchemy as sa
from flask import current_app
from redis.exceptions import RedisError

from portal.extensions import db
from portal.models import AcmeOrder, Certificate, CertState, Domain, Server, Status, Website, utcnow
from portal.models.validators import public_suffixes
from portal.orchestration import acme, alerts, certificates_dns, operations
from portal.orchestration.acme import CaError
from portal.orchestration.backends.nginx import server_names
from portal.orchestration.certificates_scripts import ScriptFailed, key_and_csr, put_answers, remove_answers
from portal.orchestration.certificates_words import CertCode
from portal.orchestration.mailer import compose, deliver
from portal.orchestration.placement import place
from portal.orchestration.proof import NotProven
from portal.orchestration.proving import resolver
from portal.orchestration.queue import queue
from portal.orchestration.routes import routed_servers

log = logging.getLogger(__name__)
DUE_PER_SWEEP = 50
# A certificate handed to a worker is not handed out again for this long (a worker that died with it).
ORDERING_GRACE = timedelta(minutes=15)
WEEK, HOUR = timedelta(days=7), timedelta(hours=1)


def enabled() -> bool:
    return bool(str(current_app.config["ACME_DIRECTORY"] or "").strip())


def of(website: Website) -> Certificate | None:
    return db.session.scalars(sa.select(Certificate).where(Certificate.website_id == website.id)).first()


def sync(website: Website) -> Certificate | None:
    """After a website is saved (services): it has an automatic certificate exactly while it asks for one.
    A change is looked at again at once (a failed one starts over), unless what serves is what is wanted."""
    if website.tls_mode != "auto":
        drop(website)
        return None
    cert = of(website)
    if cert is None:
        cert = Certificate(account_id=website.account_id, website_id=website.id, names=[], attempts=0)
        cert.state, cert.reason_code, cert.reason_args = CertState.WAITING, CertCode.WAITING.value, {}
        db.session.add(cert)
    serving = cert.state == CertState.ISSUED and sorted(cert.names or []) == sorted(server_names(website))
    if serving or cert.state == CertState.ORDERING:  # renewed on schedule; or a worker has it now
        return cert
    retry(cert)
    return cert


def drop(website: Website) -> None:
    """The website leaves automatic certificates (uploaded, none, deleted): the row goes; the files on
    the server go with the website's next save or its delete (backends/nginx.py)."""
    cert = of(website)
    if cert is not None:
        db.session.delete(cert)


def retry(cert: Certificate) -> None:
    """Staff or the customer ask again after it stopped trying."""
    cert.attempts, cert.next_attempt_at = 0, utcnow()
    if cert.state == CertState.FAILED:
        cert.state = CertState.ISSUED if cert.chain else CertState.WAITING


# -- the sweep ---------------------------------------------------------------------------------------


def sweep_due() -> int:
    """Hand the certificates whose time has come to a worker (or order here without Redis)."""
    if not enabled():
        return 0
    now = utcnow()
    due = db.session.scalars(
        sa.select(Certificate)
        .join(Website, Website.id == Certificate.website_id)
        .where(
            Certificate.next_attempt_at <= now,
            Certificate.state != CertState.FAILED,
            # the first order only once the site's config, which answers http-01, is on the server
            sa.or_(Website.status == Status.APPLIED, Certificate.chain != ""),
        )
        .order_by(Certificate.next_attempt_at)
        .limit(DUE_PER_SWEEP)
        .with_for_update(skip_locked=True, of=Certificate)
    ).all()
    for cert in due:
        cert.next_attempt_at = now + ORDERING_GRACE
    ids = [cert.id for cert in due]
    db.session.commit()
    for cert_id in ids:
        if not _enqueue(cert_id):
            issue_job(cert_id)
    return len(ids)


def _enqueue(cert_id: int) -> bool:
    q = queue()
    if q is None:
        return False
    try:
        q.enqueue(issue_job, cert_id, job_timeout=600, result_ttl=600, failure_ttl=86400)
    except RedisError as exc:
        log.warning("certificate %s: cannot enqueue (%s)", cert_id, exc)
        return False
    return True


def issue_job(cert_id: int) -> str:
    """The RQ job: order (or renew) one certificate, if nothing stands in the way."""
    cert = db.session.get(Certificate, cert_id)
    if cert is None:
        return "gone"
    try:
        return issue(cert)
    except Exception:
        log.exception("certificate %s: the order failed unexpectedly", cert_id)
        db.session.rollback()
        cert = db.session.get(Certificate, cert_id)
        if cert is not None:
            failed(cert, CertCode.CA_ERROR, "unexpected error; see the worker's log")
            db.session.commit()
        return "error"


# -- one order ---------------------------------------------------------------------------------------


def web_server(website: Website) -> Server | None:
    """The nginx server the certificate is made on: the first one placed for the account."""
    servers = place(routed_servers("nginx"), website.account_id)
    return servers[0] if servers else None


def issue(cert: Certificate, names: list[str] | None = None) -> str:
    """Order now, unless something stands in the way. names: what to order (default: the website's
    names; a wildcard "*.<domain>" is proved over dns-01 in the zone Hostdeck serves)."""
    website = db.session.get(Website, cert.website_id)
    if website is None or website.status == Status.DELETING or website.tls_mode != "auto":
        db.session.delete(cert)
        db.session.commit()
        return "dropped"
    recheck = utcnow() + timedelta(seconds=int(current_app.config["ACME_RECHECK_SECONDS"]))
    if not enabled():
        return wait(cert, CertCode.OFF, {}, recheck)
    names = sorted(names or server_names(website))
    server = web_server(website)
    if server is None:
        return wait(cert, CertCode.NO_SERVER, {}, recheck)
    problem = pointing(server, names)
    if problem is not None:
        code, args, detail = problem
        return wait(cert, code, args, recheck, detail)
    if not certificates_dns.can_publish(cert.account_id, names):
        return wait(cert, CertCode.NO_DNS, {}, recheck)
    limited = rate_limited(names)
    if limited is not None:
        code, args, until = limited
        return wait(cert, code, args, until)
    cert.state = CertState.ORDERING
    db.session.commit()
    try:
        client, chain = _order(cert, server, website, names)
    except CaError as exc:
        _count_failures(exc.failed_names)
        code = CertCode.VALIDATION if exc.failed_names else CertCode.CA_ERROR
        code = CertCode.NO_DNS if exc.kind == "no_dns" else code
        return failed(cert, code, str(exc), {"names": list(exc.failed_names)})
    except ScriptFailed as exc:
        return failed(cert, CertCode.SERVER_ERROR, str(exc))
    return issued(cert, website, client, chain, names)


def _order(cert: Certificate, server: Server, website: Website, names: list[str]) -> tuple[acme.Client, str]:
    csr = key_and_csr(server, website.id, names)
    client = acme.account()
    order, wanted = acme.begin(client, csr)
    now = utcnow()
    for domain in sorted({registered(n) for n in names}):  # counted once the CA has the order
        db.session.add(AcmeOrder(registered_domain=domain, created_at=now))
    db.session.commit()
    answers = {c.token: c.value for c in wanted if c.kind == "http-01"}
    by_dns = [c for c in wanted if c.kind == "dns-01"]
    zones: list[Domain] = []
    try:
        put_answers(server, answers)
        if by_dns:
            zones = certificates_dns.publish(cert, by_dns)
        chain = acme.finish(client, order, wanted)
    finally:
        try:
            remove_answers(server, list(answers))
        except ScriptFailed as exc:  # stale answers are harmless: the next order has new tokens
            log.warning("could not remove http-01 answers: %s", exc)
        if zones or cert.dns_challenges:
            certificates_dns.withdraw(cert, zones)
    return client, chain


def issued(cert: Certificate, website: Website, client: Any, chain: str, names: list[str]) -> str:
    cert.issuer, cert.not_before, cert.not_after = acme.summary(chain)
    cert.chain, cert.names = chain, names
    cert.renew_at = acme.renewal_time(client, chain)
    cert.next_attempt_at, cert.attempts = cert.renew_at, 0
    cert.state, cert.reason_code, cert.reason_args, cert.detail = CertState.ISSUED, CertCode.ISSUED.value, {}, ""
    # The chain goes live like any change of the site: nginx -t first, the old files back if it fails.
    website.status, website.last_error = Status.PENDING, None
    try:
        operations.record(website, "save")
    except (operations.NoServer, NotProven) as exc:
        log.warning("website %s: the new certificate cannot go out: %s", website.id, exc)
    db.session.commit()
    return "issued"


def wait(cert: Certificate, code: CertCode, args: dict[str, Any], until: datetime, detail: str = "") -> str:
    """Not now, and not a failure: the names, a limit, the setup. The serving certificate stays."""
    cert.state = CertState.ISSUED if cert.chain else CertState.WAITING
    cert.reason_code, cert.reason_args, cert.detail = code.value, args, detail[:4000]
    cert.next_attempt_at = until
    db.session.commit()
    return f"waiting: {code}"


def _delays() -> list[int]:
    return [int(s) for s in str(current_app.config["ACME_RETRY_DELAYS"]).split(",") if s.strip()] or [3600]


def failed(cert: Certificate, code: CertCode, detail: str, args: dict[str, Any] | None = None) -> str:
    """An attempt failed: back off along ACME_RETRY_DELAYS; after ACME_MAX_ATTEMPTS stop and tell staff."""
    cert.attempts += 1
    cert.reason_code, cert.reason_args, cert.detail = code.value, args or {}, detail[:4000]
    if cert.attempts >= int(current_app.config["ACME_MAX_ATTEMPTS"]):
        cert.state, cert.next_attempt_at = CertState.FAILED, None
        db.session.commit()
        tell_staff(cert)
        return "failed"
    delays = _delays()
    cert.state = CertState.ISSUED if cert.chain else CertState.WAITING
    cert.next_attempt_at = utcnow() + timedelta(seconds=delays[min(cert.attempts, len(delays)) - 1])
    db.session.commit()
    return f"retry: {code}"


def tell_staff(cert: Certificate) -> bool:
    """The incident: one e-mail when a certificate stops being tried (no key, no secret in it)."""
    config = current_app.config
    website = db.session.get(Website, cert.website_id)
    name = website.name if website is not None else f"#{cert.website_id}"
    log.error("certificate of website %s: stopped after %d attempts: %s", name, cert.attempts, cert.detail)
    to = alerts.recipients()
    if not config["SMTP_HOST"] or not to:
        return False
    text = (
        f"Hostdeck stopped ordering the certificate of website {name} ({', '.join(cert.names or [])}) after "
        f"{cert.attempts} attempts.\n\nLast error: {cert.detail}\n\n"
        f"The website keeps its current certificate, if it has one. A change to the website, or Try again on "
        f"its page, starts again.\n{config['PUBLIC_URL'].rstrip('/')}/websites/{cert.website_id}\n"
    )
    subject = f"[Hostdeck] certificate of website {name} failed"
    return deliver(compose(to, subject, text), "could not send the certificate incident e-mail")


# -- before ordering: the names, the limits ---------------------------------------------------------


def pointing(server: Server, names: list[str]) -> tuple[CertCode, dict[str, Any], str] | None:
    """None when every name's A and AAAA records are the web server's public addresses; else why not."""
    mine = {ipaddress.ip_address(a) for a in server.setting("public_addresses", []) or []}
    if not mine:
        return CertCode.NO_ADDRESS, {}, f"{server.name} has no public_addresses setting"
    found_resolver = resolver()
    lifetime = float(current_app.config["DNS_TIMEOUT"])
    for name in names:
        if name.startswith("*."):
            continue  # proved over dns-01, in the zone itself
        found: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = set()
        for rtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                answer = found_resolver.resolve(name, rtype, lifetime=lifetime, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as exc:
                return CertCode.DNS_ERROR, {"name": name}, f"{name}: {exc}"
            found |= {ipaddress.ip_address(r.address) for r in answer}
        if not found or not found <= mine:
            shown = sorted(str(a) for a in found)[:4]
            return CertCode.NOT_HERE, {"name": name, "found": shown}, f"{name}: {shown or 'no A/AAAA'}"
    return None


def registered(name: str) -> str:
    """The registered domain a name counts under for the CA's limits (example.co.uk for www.example.co.uk)."""
    name = name.removeprefix("*.")
    return str(public_suffixes().privatesuffix(name) or name)


def rate_limited(names: list[str]) -> tuple[CertCode, dict[str, Any], datetime] | None:
    """The first of the CA's published limits these names are at, and when it allows again."""
    config, now = current_app.config, utcnow()
    per_week, per_hour = int(config["ACME_ORDERS_PER_DOMAIN_WEEK"]), int(config["ACME_FAILURES_PER_NAME_HOUR"])
    for domain in sorted({registered(n) for n in names}):
        times = _times(AcmeOrder.registered_domain == domain, AcmeOrder.failed_name == "", since=now - WEEK)
        if len(times) >= per_week:
            return CertCode.RATE_ORDERS, {"domain": domain}, times[len(times) - per_week] + WEEK
    for name in names:
        times = _times(AcmeOrder.failed_name == name, since=now - HOUR)
        if len(times) >= per_hour:
            return CertCode.RATE_FAILURES, {"name": name}, times[len(times) - per_hour] + HOUR
    return None


def _times(*where: sa.ColumnElement[bool], since: datetime) -> list[datetime]:
    return list(
        db.session.scalars(
            sa.select(AcmeOrder.created_at).where(*where, AcmeOrder.created_at > since).order_by(AcmeOrder.created_at)
        )
    )


def _count_failures(names: tuple[str, ...]) -> None:
    now = utcnow()
    for name in names:
        db.session.add(AcmeOrder(registered_domain=registered(name), failed_name=name, created_at=now))
