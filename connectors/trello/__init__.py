"""trello."""
