"""All SQL for timelines: feeds and timeline pages, lists, markers and direct conversations."""
