"""Zero-shot NAS: proxies scoring untrained networks, and the ``zero-shot`` search.

Importing this package registers the proxies (``naswot``, ``zen``, ``epe-nas``) in ``PROXIES``
and the ``zero-shot`` algorithm in ``supernas.oneshot.ALGORITHMS``.
"""
from supernas.zeroshot.epe_nas import epe_nas
from supernas.zeroshot.naswot import naswot
from supernas.zeroshot.registry import PROXIES, get_proxy, register_proxy
from supernas.zeroshot.strategy import Ranked, ZeroShot, rank, score_child
from supernas.zeroshot.zen import zen

__all__ = ["PROXIES", "Ranked", "ZeroShot", "epe_nas", "get_proxy", "naswot", "rank",
           "register_proxy", "score_child", "zen"]
