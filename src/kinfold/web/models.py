"""Models of this part (see DESIGN.md)."""
