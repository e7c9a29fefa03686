"""Every word people read goes through Flask-Babel, and Spanish is complete.

- Templates: once the Jinja tags and the HTML tags are taken out, no words are left over (text outside
  _()), and no attribute people read (title, placeholder, aria-label, alt) holds words of its own.
- Python: flash(), ServiceError(), abort() with words, and form field labels are given gettext strings,
  never plain ones.
- The Spanish catalog has every string the code and pages have, each translated and none fuzzy.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "portal" / "templates"
PO = ROOT / "portal" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
# Names and marks that read the same in every language.
SAME_EVERYWHERE = {"Hostdeck", "SFTP", "PHP", "DNS", "TXT", "IMAP", "SMTP", "TOTP", "MB", "IP", "ID", "URL", "OK"}
# E-mails to staff are in the operator's language (English): they are written outside any request.
ENGLISH_ONLY = {"email/incident.html", "email/incident.txt"}

# {% trans %}...{% endtrans %} goes first: the words inside are the ones extracted.
JINJA = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}|\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
TAG = re.compile(r"<(script|style)\b.*?</\1>|<!--.*?-->|<[^>]*>", re.S | re.I)
ENTITY = re.compile(r"&[a-z]+;|&#\d+;")
READ_ATTRIBUTES = re.compile(r'\b(title|placeholder|aria-label|alt)="([^"{]*[A-Za-z][^"{]*)"')
WORD = re.compile(r"[A-Za-zÀ-ÿ]{2,}")


def _words(text: str) -> list[str]:
    return [w for w in WORD.findall(text) if w not in SAME_EVERYWHERE]


def _untranslated(path: Path) -> list[str]:
    source = path.read_text()
    problems = []
    for name, value in READ_ATTRIBUTES.findall(source):
        if _words(value):
            problems.append(f'{name}="{value}"')
    # Attribute values are not text: drop the tags after the Jinja, then look at what is left.
    text = ENTITY.sub(" ", TAG.sub(" ", JINJA.sub(" ", source)))
    for line in text.splitlines():
        if _words(line):
            problems.append(line.strip())
    return problems


TEMPLATE_FILES = sorted(p for p in TEMPLATES.rglob("*.html") if str(p.relative_to(TEMPLATES)) not in ENGLISH_ONLY)


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_hold_no_words_outside_gettext(path):
    problems = _untranslated(path)
    assert not problems, f"{path.relative_to(ROOT)}: words outside _(): {problems}"


# Calls whose string arguments people read. For fields: the label, the first argument.
READ_CALLS = {"flash", "ServiceError", "abort", "ValidationError", "StopValidation"}
FIELDS = re.compile(r"[A-Z]\w*Field$")
GETTEXT = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext", "pgettext"}


def _plain_string(node: ast.AST) -> bool:
    """A literal (or an f-string, or a "..." % x of one) that no gettext call wraps."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(_words(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and _words(str(v.value)) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _plain_string(node.left)
    return False


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _python_problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    problems = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _name(node)
        if name in READ_CALLS:
            args = node.args[1:] if name == "abort" else node.args[:1]
            args += [kw.value for kw in node.keywords if kw.arg in ("description", "message")]
        elif FIELDS.search(name):
            args = node.args[:1] + [kw.value for kw in node.keywords if kw.arg in ("label", "description")]
        else:
            continue
        for arg in args:
            if _plain_string(arg):
                problems.append(f"line {node.lineno}: {name}({ast.unparse(arg)[:70]})")
    return problems


PYTHON_FILES = sorted(
    p
    for folder in ("blueprints", "services", "security", "templating.py")
    for p in ([ROOT / "portal" / folder] if folder.endswith(".py") else (ROOT / "portal" / folder).rglob("*.py"))
)


@pytest.mark.parametrize("path", PYTHON_FILES, ids=lambda p: str(p.relative_to(ROOT / "portal")))
def test_words_in_python_go_through_gettext(path):
    problems = _python_problems(path)
    assert not problems, f"{path.relative_to(ROOT)}: plain strings people read: {problems}"


GETTEXT_CALLS = {"gettext", "ngettext", "pgettext", "lazy_gettext", "_", "_l"}


def test_no_gettext_inside_an_f_string():
    """pybabel does not read inside f-strings: a gettext() there is never extracted, so it stays
    English once the catalog is next updated."""
    found = []
    for path in sorted((ROOT / "portal").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.JoinedStr):
                found += [
                    f"{path.relative_to(ROOT)}:{call.lineno}"
                    for call in ast.walk(node)
                    if isinstance(call, ast.Call) and _name(call) in GETTEXT_CALLS
                ]
    assert not found, f"gettext() inside an f-string: {found}"


def test_spanish_is_complete_and_current(tmp_path):
    pot = tmp_path / "messages.pot"
    pybabel = str(Path(sys.executable).with_name("pybabel"))
    # Babel skips folders starting with "_" unless told otherwise: templates/_macros has words too.
    keywords = ["-k", "lazy_gettext", "-k", "_l"]
    subprocess.run(
        [
            pybabel,
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            *keywords,
            "--ignore-dirs",
            ".* __pycache__",
            "-o",
            str(pot),
            "portal",
        ],
        check=True,
        cwd=ROOT,
    )
    with pot.open("rb") as file:
        wanted = {m.id for m in read_po(file) if m.id}
    with PO.open("rb") as file:
        catalog = read_po(file)
    have = {m.id: m for m in catalog if m.id}
    missing = sorted(str(i) for i in wanted - set(have))
    assert not missing, f"not in the Spanish catalog (run make messages, then translate): {missing[:20]}"
    untranslated = sorted(str(m.id) for i, m in have.items() if i in wanted and (not m.string or m.fuzzy))
    untranslated += [
        str(m.id) for i, m in have.items() if i in wanted and isinstance(m.string, tuple) and not all(m.string)
    ]
    assert not untranslated, f"not translated (or fuzzy) in Spanish: {untranslated[:20]}"
