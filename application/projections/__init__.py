"""Read models, one module each, materialised into tables of the event store's own database."""
