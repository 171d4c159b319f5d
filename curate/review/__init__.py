"""The review loop: the queue (pure), Label Studio push/pull (adapter in ``labelstudio``),
the append-only corrections log, applying decisions, and the webhook receiver."""
