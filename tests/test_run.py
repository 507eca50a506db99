"""Running crawls in this process (crawler.run)."""

from crawler.config import AdWatchConfig, project_settings
from crawler.pipelines.rule_check import shared_engine
from crawler.run import warm_up


def test_warm_up_loads_the_rule_engines_dictionary_before_any_crawler_opens():
    """Loaded on the first word-boundary check instead, jieba would stall every running crawler for seconds."""
    settings = project_settings({"ADWATCH_STORE_ENABLED": False})
    engine = shared_engine(AdWatchConfig.from_settings(settings).rules_dir)

    warm_up(settings)

    assert engine.warm
