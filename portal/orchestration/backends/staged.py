"""Config files written with a way back: keep the old ones until the service's own check passes.

A log is a WARNING when its script wrote to stderr, so what a service prints when all went well
(nginx's "[notice] signal process started" on every reload) goes to stdout, still in the log for
staff; only the rest, a real warning, reaches stderr.
"""

from __future__ import annotations

from portal.orchestration.script import q

# $1: what a command printed; $2: an ERE for its lines that are only notices (empty: none are).
SAID = """\
hs_said() {
  printf '%s\\n' "$1" | HS_NOTICE="$2" awk '
    NF == 0 { next }
    ENVIRON["HS_NOTICE"] != "" && $0 ~ ENVIRON["HS_NOTICE"] { print; next }
    { print > "/dev/stderr" }'
}
"""

# $1: file to replace or remove; the new content, if any, comes on stdin.
STAGING = """\
hs_staged=()
hs_stage() {
  if [ -e "$1" ]; then cp -p "$1" "$1.hostdeck-bak"; else : > "$1.hostdeck-new"; fi
  hs_staged+=("$1")
}
hs_restore() {
  local f
  for f in "${hs_staged[@]}"; do
    if [ -e "$f.hostdeck-bak" ]; then mv -f "$f.hostdeck-bak" "$f"; else rm -f -- "$f"; fi
    rm -f -- "$f.hostdeck-new"
  done
  hs_staged=()
}
hs_keep() {
  local f
  for f in "${hs_staged[@]}"; do rm -f -- "$f.hostdeck-bak" "$f.hostdeck-new"; done
  hs_staged=()
}
"""
STAGE = SAID + STAGING


def write_file(path: str, content: str, mode: str = "0644") -> str:
    """Stage a file, then write it whole (printf is a builtin: the content never reaches an argv)."""
    return f"hs_stage {q(path)}\nprintf '%s' {q(content)} > {q(path)}\nchmod {mode} {q(path)}"


def remove_file(path: str) -> str:
    return f"hs_stage {q(path)}\nrm -f -- {q(path)}"


def said(command: str, notices: str = "") -> str:
    """Run a command; on failure fail with all it said, else pass on only what is more than a notice."""
    return f'if ! hs_out=$({command} 2>&1); then\n  echo "$hs_out" >&2\n  exit 1\nfi\nhs_said "$hs_out" {q(notices)}'


def checked(check: str, apply: str, what: str, notices: str = "", apply_notices: str = "") -> str:
    """Run the service's check; on failure put every staged file back and fail with its message.

    notices and apply_notices: EREs for the lines check and apply print when all is well (said())."""
    return (
        f"if ! hs_out=$({check} 2>&1); then\n  hs_restore\n  echo {q(what + ' refused the new config:')} >&2\n"
        f'  echo "$hs_out" >&2\n  exit 1\nfi\nhs_keep\nhs_said "$hs_out" {q(notices)}\n{said(apply, apply_notices)}'
    )
