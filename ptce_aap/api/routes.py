"""Read-only API v1 (SPEC §7); bearer tokens. Endpoints come with the API issue."""
