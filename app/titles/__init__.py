"""荣誉称号: titles a school union holds (level, tier) and their re-review status."""
