"""Spider loader: every site profile is a spider, so ``scrapy list`` and ``scrapy crawl SITE`` work."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.settings import BaseSettings

from crawler.config import AdWatchConfig
from crawler.profiles import Profile, load_profiles
from crawler.spiders.profile import ProfileSpider
from crawler.urls import same_site


class ProfileSpiderLoader:
    """Implements scrapy.spiderloader.SpiderLoaderProtocol over the profile folders."""

    def __init__(self, settings: BaseSettings) -> None:
        self.profiles: dict[str, Profile] = load_profiles(AdWatchConfig.from_settings(settings).profile_dirs)

    @classmethod
    def from_settings(cls, settings: BaseSettings) -> ProfileSpiderLoader:
        return cls(settings)

    def load(self, spider_name: str) -> type[Spider]:
        try:
            return ProfileSpider.for_profile(self.profiles[spider_name])
        except KeyError:
            known = ", ".join(sorted(self.profiles)) or "(none)"
            raise KeyError(f"Unknown site {spider_name!r}; profiles: {known}") from None

    def list(self) -> list[str]:
        return sorted(self.profiles)

    def find_by_request(self, request: Request) -> list[str]:
        return [name for name, p in self.profiles.items() if same_site(request.url, p.base_url)]
