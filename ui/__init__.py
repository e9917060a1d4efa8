"""Every door into deskpilot: the CLI (and later the HTTP API, widget and console)."""
