"""The kernel's words: every user-facing text in each locale, and how figures are written."""
