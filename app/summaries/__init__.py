"""工作总结 (YearSummary): a school's year-end summary, its submitted versions and the district's 阅收."""
