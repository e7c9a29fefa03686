"""Reading logs incrementally: each round reads only the complete lines written since the last one.

A collector's fragment names its logs, each with a key (an object id the portal chose), and one awk
program. `hu_parts` prints, for every log, a header line and the bytes not read yet; the awk program
(`program()`: the shared part below and the collector's own `record()`) aggregates them on the server
and writes the new place in each log to the collector's state file, which replaces the old one only
once awk has finished (a temporary file, then mv). So a million new lines come back as a few
aggregate lines, and a round that fails keeps its place.

The place is "<key> <inode> <offset>" (and what the collector's awk keeps), one line per log, in `<usage_state_dir>/<collector>.state`:
- new complete lines only: a last line still being written (no newline yet) waits for the next round;
- rotation by inode: when the log's inode changed, the rest of the file with the saved inode
  (`<log>.1`, where `mv` and logrotate put it) is read first, then the new log from 0; while the log
  is missing (moved, not reopened yet) the moved file is read and its inode kept;
- a log that shrank under the same inode (logrotate's copytruncate) is read from 0.

Every header starts with a token made for this round, so no line of a log can pass for one. One
`stat` covers every log; a rotation between it and a log's read makes that read start past the end of
the new, still short file: nothing is read, the old inode is kept, and the next round finishes the old
file and starts the new one as above.
"""

from __future__ import annotations

import posixpath
import secrets

from portal.models import Server
from portal.orchestration.script import Script, q

# hu_parts STATE TOKEN KEY LOG [KEY LOG]...: for each log, "TOKEN KEY INODE START [KEPT]", the bytes from
# START to the end of the file (none when there is nothing new), and a newline of its own, so the
# next header starts a line and awk can tell a last line that was complete from one that was not.
READER = r"""
hu_part() {
  printf '%s %s %s %s%s\n' "$1" "$2" "$4" "$5" "${7:+ $7}"
  if [ "$6" -gt "$5" ]; then tail -c "+$(($5 + 1))" -- "$3" || :; fi
  printf '\n'
}
hu_parts() {
  local state=$1 token=$2 key log ino off more now old i
  shift 2
  local -a args=("$@") found=()
  local -A at=() st=() kept=()
  if [ -f "$state" ]; then
    while read -r key ino off more; do
      if [[ $key =~ ^[0-9]+$ && $ino =~ ^[0-9]+$ && $off =~ ^[0-9]+$ && $more =~ ^[0-9\ ]*$ ]]; then
        at[$key]="$ino $off" kept[$key]=$more
      fi
    done < "$state"
  fi
  for ((i = 1; i < ${#args[@]}; i += 2)); do
    log=${args[i]}
    if [ -f "$log" ]; then found+=("$log"); fi
    if [ -f "$log.1" ]; then found+=("$log.1"); fi
  done
  if [ ${#found[@]} -gt 0 ]; then  # one stat for every log, not one per log
    while IFS=' ' read -r -d '' ino off log; do st[$log]="$ino $off"; done \
      < <(stat -L --printf '%i %s %n\0' -- "${found[@]}")
  fi
  for ((i = 0; i < ${#args[@]}; i += 2)); do
    key=${args[i]} log=${args[i + 1]} more=${kept[${args[i]}]:-}
    now=${at[$key]:-0 0}
    ino=${now%% *} off=${now##* }
    old=${st[$log.1]:-}
    now=${st[$log]:-}
    if [ -z "$now" ]; then  # moved away and not reopened yet: the moved file still grows
      if [ "$ino" != 0 ] && [ "${old%% *}" = "$ino" ]; then
        hu_part "$token" "$key" "$log.1" "$ino" "$off" "${old##* }" "$more"
      else
        hu_part "$token" "$key" "$log" "$ino" "$off" 0 "$more"
      fi
      continue
    fi
    if [ "$ino" != 0 ] && [ "${now%% *}" != "$ino" ]; then  # rotated: finish the old file first
      if [ "${old%% *}" = "$ino" ]; then hu_part "$token" "$key" "$log.1" "$ino" "$off" "${old##* }" "$more"; fi
      off=0
    elif [ "${now##* }" -lt "$off" ]; then  # truncated in place (copytruncate)
      off=0
    fi
    hu_part "$token" "$key" "$log" "${now%% *}" "$off" "${now##* }" "$more"
  done
}
"""

# The shared half of every collector's awk program (mawk and POSIX awk: no gawk extensions). A part's
# records are held back by one: its last record is the newline hu_part added (then it is empty) or a
# line still being written, which is not counted and not passed. Lengths are bytes (LC_ALL=C). What a
# collector keeps from one round to the next beside the place (numbers: `kept()`, " n n ..." or "")
# comes back to it before a key's first part (`resume()`).
PARTS = r"""
function hu_end() {
  if (hu_key != "") print hu_key " " hu_ino " " (hu_start + hu_bytes - 1 - length(hu_held)) kept() > ENVIRON["HU_STATE"]
}
index($0, hu_token " ") == 1 {
  hu_n = split($0, hu_f, " ")
  hu_end()
  if (hu_f[2] != hu_key) {
    hu_more = ""
    for (hu_i = 5; hu_i <= hu_n; hu_i++) hu_more = hu_more " " hu_f[hu_i]
    resume(hu_more)
  }
  hu_key = hu_f[2]; hu_ino = hu_f[3]; hu_start = hu_f[4]; hu_bytes = 0; hu_has = 0; hu_held = ""
  next
}
{
  hu_bytes += length($0) + 1
  if (hu_has) record(hu_held)
  hu_held = $0; hu_has = 1
}
END {
  hu_end()
  close(ENVIRON["HU_STATE"])
  report()
}
"""

FRAGMENT = """\
install -d -m 0700 {state_dir}
hu_next=$(mktemp {state}.XXXXXX); hostdeck_cleanup+=("$hu_next")
hu_parts {state} {token} {logs} | HU_STATE="$hu_next" awk -v hu_token={token} {program}{values}
chmod 0600 "$hu_next"
mv -f "$hu_next" {state}
"""


def state_file(server: Server, collector: str) -> str:
    return posixpath.join(str(server.setting("usage_state_dir", "/var/lib/hostdeck/usage")), f"{collector}.state")


def program(awk: str) -> str:
    """The collector's awk: `record(line)` for each new complete line, `report()` at the end,
    `resume(kept)` and `kept()` for what it keeps beside its place in a log, and any rules of its own
    for its `values` file (they come first)."""
    return awk + PARTS


def read_logs(
    script: Script, server: Server, collector: str, logs: list[tuple[int, str]], awk: str, values: str = ""
) -> None:
    """Add the fragment: `logs` as (key, path); `values` an extra file for awk to read first (its
    lines come before the parts: `FILENAME != "-"` tells them apart)."""
    state = state_file(server, collector)
    token = f"hostdeck-part-{secrets.token_hex(16)}"
    pairs = " ".join(f"{int(key)} {q(path)}" for key, path in logs)
    script.add(READER)
    script.add(
        FRAGMENT.format(
            state_dir=q(posixpath.dirname(state)),
            state=q(state),
            token=q(token),
            logs=pairs,
            program=q(program(awk)),
            values=f" {values} -" if values else "",
        )
    )
