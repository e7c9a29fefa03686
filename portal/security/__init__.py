"""Who may see what: the actor, the scoping helper, passwords, throttling."""
