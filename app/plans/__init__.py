"""年度工会工作计划 (annual work plan): the structured plan, import from text and Word (parser),
the submit/return/approve workflow with immutable versions (services), the district's review,
deadline, tracking and reminders (views, notify), and the API (api, schemas)."""
