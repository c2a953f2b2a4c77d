"""考核细则: versioned rubrics as data (categories, indicators, rules)."""
