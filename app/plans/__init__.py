"""年度工会工作计划 (annual work plan) tools: parsing uploaded plans into a proposed structure."""
