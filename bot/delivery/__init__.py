"""The durable outbound queue and its worker: every platform call, its outcome,
redelivery, the conversations a platform lets the bot write to."""
