"""活动记录: what a school union actually did, linked to its plan, and completion rates."""
