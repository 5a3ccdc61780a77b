"""The `cxbot` command line."""
