"""Full-text search over statuses, hashtag and account lookup, and the remote-resolution hook."""
