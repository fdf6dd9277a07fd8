"""The sandbox retailer: a simulated Spanish omnichannel retailer writing real source systems.

``generate`` builds a world, ``advance`` moves it on, ``SandboxServer`` serves its REST APIs.
See ``README.md`` beside this file for what is written where and the ground-truth keys.
"""

from __future__ import annotations

from .params import BehaviourRates, MessRates, WorldParams
from .pos_db import pos_ddl
from .server import CRM_TOKEN, SHOP_TOKEN, SandboxServer
from .world import advance, generate

__all__ = [
    "CRM_TOKEN",
    "SHOP_TOKEN",
    "BehaviourRates",
    "MessRates",
    "SandboxServer",
    "WorldParams",
    "advance",
    "generate",
    "pos_ddl",
]
