"""Text handling shared by every area: turning plain text into HTML and sanitising HTML."""
