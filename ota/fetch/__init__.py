"""The network edge: the only package of ota that talks to the network.

client.py    the Fetcher: plain HTTP, politeness, retries, the browser when needed
browser.py   headless Chromium, for pages that need client scripts
"""

from ota.fetch.client import FULL_DOM, HTML_ONLY, Fetcher, Page
from ota.settings import FetchSettings

__all__ = ["FULL_DOM", "HTML_ONLY", "FetchSettings", "Fetcher", "Page"]
