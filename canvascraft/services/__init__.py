"""What pages and the CLI call: one function per user action, returning plain data."""
