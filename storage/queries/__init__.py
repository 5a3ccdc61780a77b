"""Data-access functions: keyword-only, the caller owns the session and the transaction."""
