"""The Textual console: the app, its screens and widgets."""
