"""The sandbox's sites, one module each; ``SITE_CLASSES`` maps a site key to its class."""

from __future__ import annotations

from sandbox.sites.base import Site
from sandbox.sites.collect import CollectSite
from sandbox.sites.flashsale import FlashsaleSite
from sandbox.sites.healthfood import HealthfoodSite
from sandbox.sites.hospital import HospitalSite
from sandbox.sites.jsmall import JsmallSite
from sandbox.sites.mall import MallSite
from sandbox.sites.market import MarketSite
from sandbox.sites.news import NewsSite
from sandbox.sites.pharmacy import PharmacySite

SITE_CLASSES: dict[str, type[Site]] = {
    cls.key: cls
    for cls in (
        MallSite, HospitalSite, HealthfoodSite, PharmacySite, CollectSite, NewsSite, FlashsaleSite, JsmallSite,
        MarketSite,
    )  # fmt: skip
}
