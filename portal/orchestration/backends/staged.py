"""Config files written with a way back: keep the old ones until the service's own check passes."""

from __future__ import annotations

from portal.orchestration.script import q

# $1: file to replace or remove; the new content, if any, comes on stdin.
STAGE = """\
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


def write_file(path: str, content: str, mode: str = "0644") -> str:
    """Stage a file, then write it whole (printf is a builtin: the content never reaches an argv)."""
    return f"hs_stage {q(path)}\nprintf '%s' {q(content)} > {q(path)}\nchmod {mode} {q(path)}"


def remove_file(path: str) -> str:
    return f"hs_stage {q(path)}\nrm -f -- {q(path)}"


def checked(check: str, apply: str, what: str) -> str:
    """Run the service's check; on failure put every staged file back and fail with its message."""
    return (
        f"if ! hs_out=$({check} 2>&1); then\n  hs_restore\n  echo {q(what + ' refused the new config:')} >&2\n"
        f'  echo "$hs_out" >&2\n  exit 1\nfi\nhs_keep\n{apply}'
    )
