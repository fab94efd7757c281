"""Operator tasks behind the `kinfolk` command: doctor, backup and restore, schema state."""
