"""Zero-shot NAS: proxies scoring untrained networks, and the ``zero-shot`` search.

Importing this package registers the proxies (``naswot``, ``zen``, ``epe-nas``, ``synflow``,
``params``, ``macs``, ``az-expressivity``, ``az-progressivity``, ``az-trainability``) and the
rank-aggregating ensembles (``az-nas``, ``ensemble``) in ``PROXIES``, and the ``zero-shot``
algorithm in ``supernas.oneshot.ALGORITHMS``.
"""
from supernas.zeroshot.az_nas import az_expressivity, az_progressivity, az_trainability
from supernas.zeroshot.complexity import macs, params
from supernas.zeroshot.ensemble import Ensemble, az_nas, ensemble, is_ensemble
from supernas.zeroshot.epe_nas import epe_nas
from supernas.zeroshot.naswot import naswot
from supernas.zeroshot.registry import PROXIES, get_proxy, register_proxy
from supernas.zeroshot.strategy import Ranked, ZeroShot, rank, score_child
from supernas.zeroshot.synflow import synflow
from supernas.zeroshot.zen import zen

__all__ = ["PROXIES", "Ensemble", "Ranked", "ZeroShot", "az_expressivity", "az_nas",
           "az_progressivity", "az_trainability", "ensemble", "epe_nas", "get_proxy",
           "is_ensemble", "macs", "naswot", "params", "rank", "register_proxy", "score_child",
           "synflow", "zen"]
