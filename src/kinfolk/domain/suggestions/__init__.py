"""Accounts suggested to follow, and the suggestions a user dismissed."""
