"""Extract schemas, validation, quarantine, bundles, partner records and indicators."""
