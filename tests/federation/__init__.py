"""Tests of ActivityPub rendering, HTTP and (later) delivery."""
