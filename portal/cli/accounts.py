import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.models import Account, AccountKind, Domain, Role, Server, Status, User, usage, utcnow
from portal.models.validators import domain_to_ascii
from portal.orchestration import proving
from portal.orchestration.operations import is_routed, record
from portal.orchestration.proof import ProofCode, describe
from portal.security import sessions, strength, totp
from portal.security.audit import audit
from portal.security.passwords import hash_password
from portal.services import contacts, placement
from portal.services.resellers import ACCOUNT_NAME_MAX

users = AppGroup("users", help="Portal logins.")
accounts = AppGroup("accounts", help="Customer and reseller accounts.")
domains = AppGroup("domains", help="Domain names owned by accounts.")


def account_named(name: str) -> Account:
    """An account by name, or by "reseller/name" where two resellers' sub-accounts share a name."""
    found = db.session.scalars(sa.select(Account).where(Account.name == name).limit(2)).all()
    if not found and "/" in name:
        parent, _, own = name.rpartition("/")
        resellers = sa.select(Account.id).where(Account.name == parent, Account.parent_id.is_(None))
        found = db.session.scalars(
            sa.select(Account).where(Account.name == own, Account.parent_id.in_(resellers)).limit(2)
        ).all()
    if not found:
        raise click.ClickException(f"no account named {name!r}")
    if len(found) > 1:
        raise click.ClickException(f"several accounts are named {name!r}: write it as reseller/{name}")
    return found[0]


def _refuse_weak(password: str, email: str, account_name: str | None = None) -> None:
    """The strength rules of every new password (security/strength.py): the reason, and exit 1."""
    why = strength.weakness(password, [email.strip().partition("@")[0], account_name])
    if why:
        raise click.ClickException(why)


def _add_user(email: str, password: str, role: Role, account: Account | None = None) -> User:
    email = email.strip().lower()
    if db.session.scalar(sa.select(User).where(User.email == email)):
        raise click.ClickException(f"{email} already exists")
    _refuse_weak(password, email, account.name if account else None)
    user = User(email=email, password_hash=hash_password(password), role=role, account=account)
    db.session.add(user)
    return user


@users.command("create-admin")
@click.argument("email")
@click.password_option()
def create_admin(email: str, password: str) -> None:
    """Create an operator login."""
    _add_user(email, password, Role.ADMIN)
    db.session.commit()
    click.echo(f"admin {email} created")


@users.command("create-staff")
@click.argument("email")
@click.password_option()
def create_staff(email: str, password: str) -> None:
    """Create a support staff login."""
    _add_user(email, password, Role.STAFF)
    db.session.commit()
    click.echo(f"staff {email} created")


@users.command("reset-two-factor")
@click.argument("email")
def reset_two_factor(email: str) -> None:
    """Forget a login's authenticator and recovery codes (a lost phone) and end its sessions.

    Staff and admins set it up again at their next login; customers may.
    """
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no login {email}")
    totp.disable(user)
    ended = sessions.end_others(user, keep=None)
    audit(None, "user.two_factor_reset", obj=user, account_id=user.account_id)
    db.session.commit()
    click.echo(f"two-factor login of {user.email} reset; {ended} session(s) ended")


@accounts.command("create")
@click.argument("name")
@click.option("--owner", "owner_email", required=True, help="E-mail of the owner login.")
@click.option("--reseller", "reseller_name", help="Make it a sub-account of this reseller.")
@click.option("--kind", type=click.Choice([k.value for k in AccountKind]), default="customer")
@click.option(
    "--emergency-contact",
    "emergency_email",
    help="Where its warnings go, on a domain not hosted here; it gets a link to confirm.",
)
@click.password_option(help="The owner's portal password.")
def create_account(
    name: str, owner_email: str, reseller_name: str | None, kind: str, emergency_email: str | None, password: str
) -> None:
    """Create an account with its owner login."""
    if len(name) > ACCOUNT_NAME_MAX:
        raise click.ClickException(f"an account name has at most {ACCOUNT_NAME_MAX} characters")
    _refuse_weak(password, owner_email, name)
    parent = account_named(reseller_name) if reseller_name else None
    if parent is not None and parent.kind != AccountKind.RESELLER:
        raise click.ClickException(f"{reseller_name} is not a reseller")
    siblings = Account.parent_id.is_(None) if parent is None else Account.parent_id == parent.id
    if db.session.scalar(sa.select(Account.id).where(siblings, Account.name == name)):
        raise click.ClickException(f"an account named {name} already exists")
    contact = None
    if emergency_email:  # a new account has no domains yet; its reseller's count
        contact = contacts.checked(emergency_email, contacts.family(parent) if parent else [])
    account = Account(name=name, kind=AccountKind(kind), parent=parent)
    db.session.add(account)
    _add_user(owner_email, password, Role.OWNER, account)
    db.session.flush()
    account.assigned_prefix()
    if contact is not None:
        contacts.set_new_account_contact(account, contact)
    db.session.commit()
    click.echo(f"{kind} {name} created, owner {owner_email}")


@accounts.command("recount-usage")
def recount_usage() -> None:
    """Set every account's usage counters from its rows (after restoring a backup, say)."""
    wrong = usage.recount(db.session)
    db.session.commit()
    click.echo(f"{wrong} account(s) corrected" if wrong else "every account's usage was right")


@domains.command("add")
@click.argument("account_name")
@click.argument("name")
def add_domain(account_name: str, name: str) -> None:
    """Give an account a domain name."""
    try:
        ascii_name = domain_to_ascii(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    account = account_named(account_name)
    # Other accounts' waiting claims block nobody; the account's own row, or another's proof, does.
    own = sa.select(Domain).where(Domain.account_id == account.id, Domain.name == ascii_name)
    holder = proving.held_elsewhere(ascii_name, account.id)
    if db.session.scalar(own) or (holder is not None and holder.name == ascii_name):
        raise click.ClickException(f"{ascii_name} is already taken")
    if holder is not None:
        raise click.ClickException(f"{ascii_name} overlaps {holder.name}, which another account uses")
    # The operator vouches for it: no proof record is asked for.
    domain = Domain(
        account=account,
        name=ascii_name,
        status=Status.APPLIED,
        verified_at=utcnow(),
        proof_code=ProofCode.BY_OPERATOR,
    )
    db.session.add(domain)
    db.session.flush()
    proving.close_rival_claims(domain)
    if is_routed("postfix"):  # else there is nothing to apply it to
        domain.status = Status.PENDING
        record(domain, "save")
    db.session.commit()
    click.echo(f"{ascii_name} added to {account_name}")


@domains.command("served-before-proof")
def served_before_proof() -> None:
    """Domains that count as verified because they were served before proof was asked: does each one's
    TXT record prove it now? (Tab-separated: name, account, result.)"""
    served = Domain.proof_code == ProofCode.SERVED_BEFORE
    old = db.session.scalars(sa.select(Domain).where(served).order_by(Domain.name)).all()
    for domain in old:
        finding = proving.lookup(domain)
        result = "proved" if finding.found else f"NOT PROVED: {describe(domain, finding.code, finding.args)}"
        click.echo(f"{domain.name}\t{domain.account.name}\t{result}")
    click.echo(f"{len(old)} domain(s) from before proof", err=True)


def _servers_named(names: tuple[str, ...]) -> list[Server]:
    found = {s.name: s for s in db.session.scalars(sa.select(Server).where(Server.name.in_(names)))}
    missing = [n for n in names if n not in found]
    if missing:
        raise click.ClickException(f"no server named {missing[0]!r}")
    return [found[n] for n in names]


@accounts.command("place")
@click.argument("account_name")
@click.argument("server_names", nargs=-1, required=True)
def place_account(account_name: str, server_names: tuple[str, ...]) -> None:
    """Put ACCOUNT's services on these servers (of those routed to each backend), before it has any;
    its sub-accounts without a placement of their own follow it. Unplaced: every routed server."""
    account = account_named(account_name)
    added = placement.place(None, account, _servers_named(server_names))
    db.session.commit()
    now = ", ".join(s.name for s in placement.placed_on(account))
    click.echo(f"{account.name} is placed on {now}" + ("" if added else " (nothing new)"))


@accounts.command("unplace")
@click.argument("account_name")
@click.argument("server_names", nargs=-1, required=True)
def unplace_account(account_name: str, server_names: tuple[str, ...]) -> None:
    """Take servers out of ACCOUNT's placement (none left: every routed server again)."""
    account = account_named(account_name)
    placement.unplace(None, account, _servers_named(server_names))
    db.session.commit()
    now = ", ".join(s.name for s in placement.placed_on(account))
    click.echo(f"{account.name} is placed on {now}" if now else f"{account.name} goes to every routed server")
