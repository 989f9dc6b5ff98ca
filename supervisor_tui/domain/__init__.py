"""The pure domain: figures, rules and their inputs. No Textual, Rich, httpx, sqlite
or starlette here (import-linter contract in pyproject.toml)."""
