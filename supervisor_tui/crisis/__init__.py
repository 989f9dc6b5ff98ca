"""Crisis communications: incidents, templates, channels and the durable outbox.

``service.CrisisService`` is the one entry point for the UI and the CLI; the modules
below it are layered config -> templates (pure) -> incidents / outbox (store) ->
channels (network). See docs/crisis.md.
"""
