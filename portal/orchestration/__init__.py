"""How a change reaches a server: outbox, dispatch, job, script, transport."""
