"""Accounts: registration, email verification, login, logout, password reset."""
