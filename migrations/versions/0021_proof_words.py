"""a domain's proof state as a code and its values, worded when read in the reader's language

Revision ID: b7e4c1d9f021
Revises: a3d9e6f1c020
Create Date: 2026-12-02 14:30:00

proof_result held English sentences. Each sentence the code has written becomes its code
(orchestration/proof.py: ProofCode) and values, names in A-labels; one it cannot read is kept as it
is (code "legacy"). Going down writes the English sentences again.
"""

import ast
import re

import idna
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e4c1d9f021"
down_revision = "a3d9e6f1c020"
branch_labels = None
depends_on = None

PREFIX = "_hostdeck-challenge"
LOST_END = " This claim can no longer be verified; you may delete it."
# The fixed sentences, as the code wrote them (a copy: the code's words may change, these may not).
FIXED = {
    "Waiting for the TXT record.": "waiting",
    "Verified: it was served before domains needed proof.": "served_before",
    "Verified: added by the operator.": "by_operator",
    "Verified: a demo domain.": "demo",
    "Marked as verified by support.": "by_staff",
    "Marked as verified by your provider.": "by_reseller",
    "The DNS servers did not answer; Hostdeck will look again later.": "dns_error",
}
# Sentences with values in them. A name is no space or comma; the record is always the row's own.
RESERVED = re.compile(r"Counts as verified: names under \.(\S+) are for trying Hostdeck out\.")
WITH_PARENT = re.compile(r"Verified with (\S+)\.")
RECORD_FOUND = re.compile(r"Verified: (\S+) holds the token\.")
NOT_FOUND = re.compile(r"No TXT record (\S+) was found\.")
WRONG_VALUE = re.compile(r"The TXT record (\S+) holds (.+), not the value shown here\.")
LOST = re.compile(r"Another account has proved that (\S+) is theirs\.")
OVERLAPS = re.compile(r"Another account has proved ([^\s,]+), which overlaps (\S+)\.")
LOST_BELOW = re.compile(r"Another account has proved a domain under (\S+)\.")


def _ascii(name: str) -> str:
    """A name as the code stores it (A-labels), where it converts; else as it was."""
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


def _unicode(name: str) -> str:
    if "xn--" not in name:
        return name
    try:
        return idna.decode(name)
    except idna.IDNAError:
        return name


def _values(shown: str) -> list[str] | None:
    """The values of a wrong record as they were shown (Python string literals, comma-separated)."""
    try:
        values = ast.literal_eval(f"[{shown}]")
    except (ValueError, SyntaxError):
        return None
    return values if all(isinstance(v, str) for v in values) else None


def read(text: str, name: str, detail: str) -> tuple[str, dict]:
    """(code, values) of a stored sentence, for the domain of this (A-label) name; detail (the resolver's
    answer) tells what it said where the words were the same."""
    if not text:
        return "", {}
    record = f"{PREFIX}.{name}"
    if text in FIXED:
        code = FIXED[text]
        if code == "dns_error" and ("timed out" in detail or "lifetime expired" in detail):
            code = "timeout"
        return code, {}
    if match := RESERVED.fullmatch(text):
        return "reserved", {"tld": match[1]}
    if match := WITH_PARENT.fullmatch(text):
        return "with_parent", {"name": _ascii(match[1])}
    if (match := RECORD_FOUND.fullmatch(text)) and match[1] == record:
        return "record_found", {}
    if (match := NOT_FOUND.fullmatch(text)) and match[1] == record:
        return ("nxdomain" if detail.endswith(": NXDOMAIN") else "no_txt"), {}
    if (match := WRONG_VALUE.fullmatch(text)) and match[1] == record:
        values = _values(match[2])
        if values is not None:
            return "wrong_value", {"values": values}
    if text.endswith(LOST_END):
        first = text.removesuffix(LOST_END)
        if (match := LOST.fullmatch(first)) and _ascii(match[1]) == name:
            return "lost", {}
        if (match := LOST_BELOW.fullmatch(first)) and _ascii(match[1]) == name:
            return "lost_below", {}
        if (match := OVERLAPS.fullmatch(first)) and _ascii(match[2]) == name:
            other = _ascii(match[1])
            if name.endswith(f".{other}"):
                return "lost_above", {"other": other}
            if other.endswith(f".{name}"):  # an older wording named a domain below: it stays unsaid now
                return "lost_below", {}
    return "legacy", {"text": text}


def write(code: str, args: dict, name: str) -> str:
    """The English sentence the code stored for a code and its values (going down)."""
    fixed = {value: text for text, value in FIXED.items()}
    fixed["timeout"] = fixed["dns_error"]
    if code in fixed:
        return fixed[code]
    record, shown = f"{PREFIX}.{name}", _unicode(name)
    tld, parent, other = args.get("tld", ""), _unicode(args.get("name", "")), _unicode(args.get("other", ""))
    values = ", ".join(repr(str(v)) for v in args.get("values", []))
    words = {
        "reserved": f"Counts as verified: names under .{tld} are for trying Hostdeck out.",
        "with_parent": f"Verified with {parent}.",
        "record_found": f"Verified: {record} holds the token.",
        "nxdomain": f"No TXT record {record} was found.",
        "no_txt": f"No TXT record {record} was found.",
        "wrong_value": f"The TXT record {record} holds {values}, not the value shown here.",
        "lost": f"Another account has proved that {shown} is theirs.{LOST_END}",
        "lost_above": f"Another account has proved {other}, which overlaps {shown}.{LOST_END}",
        "lost_below": f"Another account has proved a domain under {shown}.{LOST_END}",
        "legacy": str(args.get("text", "")),
    }
    return words.get(code, "")


def _table(*columns: sa.ColumnClause) -> sa.TableClause:
    return sa.table("domain", sa.column("id", sa.Integer), sa.column("name", sa.String), *columns)


def upgrade():
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proof_code", sa.String(length=32), server_default="", nullable=False))
        batch_op.add_column(sa.Column("proof_args", sa.JSON(), server_default="{}", nullable=False))
    domain = _table(
        sa.column("proof_result", sa.Text),
        sa.column("proof_detail", sa.Text),
        sa.column("proof_code", sa.String),
        sa.column("proof_args", sa.JSON),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(domain.c.id, domain.c.name, domain.c.proof_result, domain.c.proof_detail).where(
            domain.c.proof_result != ""
        )
    ).all()
    changes = []
    for row in rows:
        code, args = read(row.proof_result, row.name, row.proof_detail or "")
        changes.append({"row_id": row.id, "code": code, "args": args})
    if changes:
        connection.execute(
            domain.update()
            .where(domain.c.id == sa.bindparam("row_id"))
            .values(proof_code=sa.bindparam("code"), proof_args=sa.bindparam("args", type_=sa.JSON)),
            changes,
        )
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.drop_column("proof_result")


def downgrade():
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proof_result", sa.Text(), server_default="", nullable=False))
    domain = _table(
        sa.column("proof_result", sa.Text), sa.column("proof_code", sa.String), sa.column("proof_args", sa.JSON)
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(domain.c.id, domain.c.name, domain.c.proof_code, domain.c.proof_args).where(domain.c.proof_code != "")
    ).all()
    changes = [{"row_id": row.id, "text": write(row.proof_code, row.proof_args or {}, row.name)} for row in rows]
    if changes:
        connection.execute(
            domain.update().where(domain.c.id == sa.bindparam("row_id")).values(proof_result=sa.bindparam("text")),
            changes,
        )
    with op.batch_alter_table("domain", schema=None) as batch_op:
        batch_op.drop_column("proof_args")
        batch_op.drop_column("proof_code")
