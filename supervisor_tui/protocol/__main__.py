"""`python -m supervisor_tui.protocol` prints the JSON Schema."""

from supervisor_tui.protocol.documents import schema_text

print(schema_text(), end="")
