"""The 新增客户 dialog: a clerk registers a customer and their car; duplicates are offered, not copied.

See new_customer.mmd beside this file for the flow. Reading and checking values, duplicate detection and
the writes live in `bot.services.crm`; this module only holds the conversation.
"""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar

from bot import replies
from bot.dialogs.base import CONFIRM, GLOBAL_WORDS, Dialog, DialogTurn, Step
from bot.nlu import is_no, is_yes, normalize, parse_mobile, parse_plate
from bot.services import crm
from bot.services.ids import customer_code

SKIP_WORDS = frozenset({"跳过", "没有", "无", "不知道", "不清楚", "略过", "skip"})
# A value of "" means the clerk skipped an optional step (the engine treats a present key as filled).
SKIPPED = ""


def _skipped(text: str) -> bool:
    return normalize(text).strip("。.!！ ").lower() in SKIP_WORDS


def _answer_word(text: str) -> bool:
    """Words that answer the dialog itself and are never a name or a car model."""
    word = text.strip()
    return is_yes(word) or is_no(word) or word in GLOBAL_WORDS or _skipped(word)


def _asking(turn: DialogTurn, slot: str) -> bool:
    """Whether free text is an answer for `slot`: at its step, or at the confirmation after "改<slot> …"
    (the edit clears the slot first, so only the slot being changed is missing there)."""
    step = turn.session.step
    return step == slot or (step == CONFIRM and slot not in turn.data)


def read_name(text: str, turn: DialogTurn) -> str | None:
    """At the name step: the whole text. When the dialog starts ("新增客户 李四 138…"): a 2-4 character
    Chinese word that is not part of a plate."""
    if _asking(turn, "name"):
        name = crm.read_name(text)
        return None if name is None or _answer_word(name) else name
    if turn.session.step == "":
        for word in text.split():
            if 2 <= len(word) <= 4 and all("\u4e00" <= ch <= "\u9fff" for ch in word) and not parse_plate(word):
                return word
    return None


def read_mobile(text: str, turn: DialogTurn) -> str | None:
    return parse_mobile(text)


def read_plate(text: str, turn: DialogTurn) -> str | None:
    return parse_plate(text)


def read_model(text: str, turn: DialogTurn) -> str | None:
    if not _asking(turn, "model"):
        return None
    model = text.strip()
    if not 1 <= len(model) <= crm.MODEL_MAX or _answer_word(model):
        return None
    return model


def read_vin(text: str, turn: DialogTurn) -> str | None:
    """At the VIN step: a valid VIN or 跳过; elsewhere only a 17-character token that is a VIN."""
    if _asking(turn, "vin"):
        return SKIPPED if _skipped(text) else crm.read_vin(text)
    return next((vin for word in text.split() if len(word) == 17 and (vin := crm.read_vin(word))), None)


def read_purchase_date(text: str, turn: DialogTurn) -> str | None:
    if not _asking(turn, "purchase_date"):
        return None
    if _skipped(text):
        return SKIPPED
    local = turn.now.astimezone(turn.settings.tz)
    day = crm.read_purchase_date(text, local.date(), local)
    return day.isoformat() if day is not None else None


def read_mileage(text: str, turn: DialogTurn) -> int | str | None:
    if not _asking(turn, "mileage"):
        return None
    return SKIPPED if _skipped(text) else crm.read_mileage(text)


class NewCustomerDialog(Dialog):
    """新增客户: name, mobile, plate, model, then optional VIN, purchase date and mileage; confirm; save."""

    name = "new_customer"
    steps = (
        Step("name", ask="new_customer.ask_name", retry="new_customer.retry_name", parse=read_name),
        Step("mobile", ask="new_customer.ask_mobile", retry="new_customer.retry_mobile", parse=read_mobile),
        Step("plate", ask="new_customer.ask_plate", retry="new_customer.retry_plate", parse=read_plate),
        Step("model", ask="new_customer.ask_model", retry="new_customer.retry_model", parse=read_model),
        Step("vin", ask="new_customer.ask_vin", retry="new_customer.retry_vin", parse=read_vin),
        Step(
            "purchase_date",
            ask="new_customer.ask_purchase_date",
            retry="new_customer.retry_purchase_date",
            parse=read_purchase_date,
        ),
        Step("mileage", ask="new_customer.ask_mileage", retry="new_customer.retry_mileage", parse=read_mileage),
    )
    edits: ClassVar[dict[str, str]] = {
        "改姓名": "name",
        "改名字": "name",
        "改手机": "mobile",
        "改电话": "mobile",
        "改车牌": "plate",
        "改车型": "model",
        "改VIN": "vin",
        "改vin": "vin",
        "改车架号": "vin",
        "改购车日期": "purchase_date",
        "改日期": "purchase_date",
        "改里程": "mileage",
    }

    async def accept(self, turn: DialogTurn, slot: str, value: Any) -> bool:
        """Take a value unless another customer already has that mobile, plate or VIN (then offer them)."""
        if slot in ("mobile", "plate", "vin") and value:
            found = await crm.find_duplicate(
                value if slot == "mobile" else None,
                value if slot == "plate" else None,
                value if slot == "vin" else None,
            )
            if found is not None:
                offer_existing(turn, found, shown=value)
                turn.session.step = slot
                return False
        turn.data[slot] = value
        return True

    def summary(self, turn: DialogTurn) -> str:
        d = turn.data
        missing = replies.render("new_customer.not_given")
        bought = d.get("purchase_date") or ""
        return replies.render(
            "new_customer.confirm",
            name=d["name"],
            mobile=d["mobile"],
            plate=d["plate"],
            model=d["model"],
            vin=d.get("vin") or missing,
            purchase_date=_day_text(date.fromisoformat(bought)) if bought else missing,
            mileage=f"{d['mileage']} 公里" if d.get("mileage") != SKIPPED else missing,
        )

    async def finish(self, turn: DialogTurn) -> None:
        d = turn.data
        speaker = turn.speaker
        # A clerk who adds a customer owns them; managers are not clerks, so theirs start with no owner and
        # the reply tells them to 转移客户 to a clerk.
        owner_id = None if speaker.is_manager else speaker.staff_id
        data = crm.NewCustomer(
            name=d["name"],
            mobile=d["mobile"],
            plate=d["plate"],
            model=d["model"],
            vin=d.get("vin") or None,
            purchase_date=date.fromisoformat(d["purchase_date"]) if d.get("purchase_date") else None,
            mileage=d["mileage"] if d.get("mileage") != SKIPPED else None,
        )
        try:
            customer, vehicle = await crm.create_customer(
                data, owner_id=owner_id, by_staff_id=speaker.staff_id, now=turn.now
            )
        except crm.Duplicate as found:
            # Registered by someone else since the value was typed: ask for that value again.
            shown = d.pop(found.field, "")
            offer_existing(turn, found, shown=shown)
            turn.session.step = found.field
            return
        self.end(turn)
        code = customer_code(customer.id)
        key = "new_customer.done_manager" if owner_id is None else "new_customer.done_clerk"
        turn.say(key, code=code, name=customer.name, plate=vehicle.plate)


def offer_existing(turn: DialogTurn, found: crm.Duplicate, *, shown: str) -> None:
    """Name the record that already holds the value, with its C-id and owner, instead of copying it."""
    what = replies.render(f"new_customer.field_{found.field}")
    turn.say(
        "new_customer.duplicate",
        what=f"{what} {shown}",
        code=customer_code(found.customer.id),
        name=found.customer.name or replies.render("customers.no_name"),
        owner=found.owner_name or replies.render("customers.no_owner"),
    )


def _day_text(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
