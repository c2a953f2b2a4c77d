"""Platform administration: districts and their first administrators."""
