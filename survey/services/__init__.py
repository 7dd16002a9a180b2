"""Domain operations: plain arguments in, models out; they flush, never commit.

The request or CLI command that calls them commits once.
"""
