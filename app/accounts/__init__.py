"""Accounts: users, passwords, server-side login sessions, API tokens."""
