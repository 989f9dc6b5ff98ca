"""Protocol v1: its documents and deltas (documents), and the server that serves a
source with them (server: `supervisor-tui serve-sim`)."""
