"""District administration: schools, users and their roles, bulk import, audit log."""
