"""The pure data-generation engine: dataset specs, the field-type catalog, writers."""
