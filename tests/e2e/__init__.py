"""End-to-end tests: the command line as a user runs it, in subprocesses."""
