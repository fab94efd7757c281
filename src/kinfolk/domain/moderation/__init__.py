"""Moderation: reports that people file against accounts and posts, for staff to act on."""
