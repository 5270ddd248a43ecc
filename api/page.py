"""The web page for people: `/` and its scripts, styles and icon under `/web/`.

The page is plain static files in `api/web/` (no build step). `index.html` is served with
each asset URL carrying the asset's digest (`/web/app.js?v=3f2a…`), so assets can be cached
for a year while a deploy that changes one changes its URL; the page itself is revalidated
on every load. The lists the builder offers that the field-type catalog does not hold
(locales, formats, compressions) are written into the page from the engine's own tables.

The page holds no secret: the user types an API key, which the script keeps in
sessionStorage and sends only to this origin's API.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from pathlib import Path
from typing import get_args

import msgspec
from litestar import MediaType, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from generators.locales import PRIMARY_LOCALES, SUPPORTED_LOCALES
from generators.writers import WRITERS, Compression

WEB_DIR = Path(__file__).resolve().parent / "web"
ASSETS_PATH = "/web"
ASSET_MAX_AGE = 365 * 24 * 3600
# An asset URL as index.html writes it: "/web/app.js".
_ASSET_URL = re.compile(rf'"{ASSETS_PATH}/([\w.-]+)"')
_CHOICES_MARK = 'content="{choices}"'


@get(
    "/",
    include_in_schema=False,
    media_type=MediaType.HTML,
    cache_control=CacheControlHeader(no_cache=True),
    sync_to_thread=False,
)
def web_page() -> Response[bytes]:
    """The page, with versioned asset URLs and the builder's choices."""
    return Response(rendered_index(), media_type=MediaType.HTML)


@functools.cache
def rendered_index() -> bytes:
    """index.html as served: read and rendered once per process."""
    text = (WEB_DIR / "index.html").read_text(encoding="utf-8")
    text = _ASSET_URL.sub(lambda m: f'"{ASSETS_PATH}/{m[1]}?v={_digest(m[1])}"', text)
    choices = msgspec.json.encode(
        {
            "locales": list(SUPPORTED_LOCALES),
            "primary_locales": list(PRIMARY_LOCALES),
            "formats": list(WRITERS),
            "compressions": list(get_args(Compression)),
        }
    ).decode()
    return text.replace(_CHOICES_MARK, f'content="{html.escape(choices)}"').encode()


def _digest(name: str) -> str:
    return hashlib.sha256((WEB_DIR / name).read_bytes()).hexdigest()[:12]


web_assets: Router = create_static_files_router(
    path=ASSETS_PATH,
    directories=[WEB_DIR],
    name="web",
    cache_control=CacheControlHeader(max_age=ASSET_MAX_AGE, public=True),
    include_in_schema=False,
)
