"""Chinese text understanding for the bot: times, plates, mobiles, services and short replies."""

from bot.nlu.phone import mask_mobile, parse_mobile
from bot.nlu.plate import is_plate, parse_plate
from bot.nlu.service import SERVICE_TYPES, ServiceType, parse_service, pick_service
from bot.nlu.text import normalize
from bot.nlu.when import parse_when, warm_up
from bot.nlu.words import is_no, is_yes, parse_pick

__all__ = [
    "SERVICE_TYPES",
    "ServiceType",
    "is_no",
    "is_plate",
    "is_yes",
    "mask_mobile",
    "normalize",
    "parse_mobile",
    "parse_pick",
    "parse_plate",
    "parse_service",
    "parse_when",
    "pick_service",
    "warm_up",
]
