"""评选/考核轮次 and the school's 申报/自评 with evidence."""
