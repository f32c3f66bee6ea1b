"""The worker: the reconcile loop and the outbox sender."""
