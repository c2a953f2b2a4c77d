"""The measured pages, shared by the benchmark (bench.py) and its light CI version
(tests/test_perf_light.py): a district's pages by the generated data they need."""


def page_urls(slug: str, info: dict) -> dict[str, str]:
    """``info``: {"year", "annual_round"} of a generated district."""
    year, round_id = info["year"], info["annual_round"]
    return {
        "plan_tracking": f"/d/{slug}/plans/{year}/tracking",
        "completion": f"/d/{slug}/activities/{year}/completion",
        "round_progress": f"/d/{slug}/rounds/{round_id}/",
    }
