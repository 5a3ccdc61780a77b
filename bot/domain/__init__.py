"""The kernel's rules of the domain, pure functions over config and values: scores,
questions, survey rules (cooldown, caps, send windows), business time, roles, the calendar."""
