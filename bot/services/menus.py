"""The WeChat menus: the customer menu everyone sees, and the staff menu shown to the staff user tag."""

# Every button is a CLICK whose key the router maps to a command (bot.handlers.router.CLICK_KEYS), so a
# click is answered exactly like the typed command, role guard included: a clerk who clicks 报表 gets the
# managers-only refusal, and a deactivated clerk whose tag is not yet removed gets the customer answer.
# WeChat limits: at most 3 buttons, 5 sub-buttons each; names at most 16 bytes (top) or 60 (sub).

from __future__ import annotations

from typing import Any, Final

# The user tag that selects the staff menu (WeChat: at most 30 bytes, unique per account).
STAFF_TAG: Final = "门店员工"

# Customer menu keys: the router's own (book, my_appointments, contact, help).
BOOK: Final = "BOOK"
MY_APPTS: Final = "MY_APPTS"
CONTACT: Final = "CONTACT"
HELP: Final = "HELP"

# Staff menu keys, mapped to command names in bot.handlers.staff.CLICK_KEYS.
STAFF_TODAY: Final = "STAFF_TODAY"
STAFF_TOMORROW: Final = "STAFF_TOMORROW"
STAFF_TASKS: Final = "STAFF_TASKS"
STAFF_CUSTOMERS: Final = "STAFF_CUSTOMERS"
STAFF_REPORT: Final = "STAFF_REPORT"
STAFF_HELP: Final = "STAFF_HELP"


def _click(name: str, key: str) -> dict[str, str]:
    return {"type": "click", "name": name, "key": key}


def customer_menu() -> dict[str, Any]:
    """The default menu: booking, one's appointments, the store's contact and help."""
    return {
        "button": [
            _click("预约保养", BOOK),
            _click("我的预约", MY_APPTS),
            {"name": "门店服务", "sub_button": [_click("联系门店", CONTACT), _click("使用帮助", HELP)]},
        ]
    }


def staff_menu() -> dict[str, Any]:
    """The staff menu (without its matchrule, which names the staff tag's id)."""
    return {
        "button": [
            {"name": "预约", "sub_button": [_click("今日预约", STAFF_TODAY), _click("明日预约", STAFF_TOMORROW)]},
            {"name": "客户任务", "sub_button": [_click("我的任务", STAFF_TASKS), _click("查客户", STAFF_CUSTOMERS)]},
            {"name": "更多", "sub_button": [_click("报表（店长）", STAFF_REPORT), _click("员工帮助", STAFF_HELP)]},
        ]
    }


def outline(menu: dict[str, Any]) -> list[str]:
    """A menu as readable lines ("预约 / 今日预约 → STAFF_TODAY"), for `menu show` and the sync report."""
    lines: list[str] = []
    for button in menu["button"]:
        subs = button.get("sub_button")
        if subs:
            lines += [f"{button['name']} / {sub['name']} → {sub['key']}" for sub in subs]
        else:
            lines.append(f"{button['name']} → {button['key']}")
    return lines
