"""The tamper-evident audit log: entries, checkpoints, verification, access reports."""
