"""Usage rounds: what each server's services use, measured there, one script per server per round.

A *collector* (`base.Collector`) belongs to a backend: for a server routed to that backend it lists
the objects the server holds (`targets()`), adds one fragment to the round's script that measures
them (`measure()`), and reads back its own output lines (`read()`). Every line a fragment prints is

    hostdeck-usage <collector> <object type> <object id> <metric> <value> [<at>]

with ids the portal put into the script itself: a name or a log line on the server can only ever
count toward the object whose file it is in, and the portal drops any id it did not ask about.

`rounds.collect_server()` is the job (its own kind, beside `apply_server`): it never takes the
server's apply lock and yields to pending applies; `store.store()` keeps what it read
(models/metering.py); `warnings` tells accounts that crossed a threshold.
"""
