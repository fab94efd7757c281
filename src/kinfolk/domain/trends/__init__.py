"""Trending hashtags, statuses and links, computed periodically from recent activity."""
