"""The partner API."""
