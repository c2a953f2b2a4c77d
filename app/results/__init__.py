"""Results of a round: aggregation, combined scores, proposed tiers, grades, ranks and working days (issue 5)."""
