"""A school union's own pages."""
