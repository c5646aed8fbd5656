"""Every sentence a user reads, in one place: keys map to concise zh-CN text with named {params}."""

from __future__ import annotations

from typing import Any

REPLIES: dict[str, str] = {
    "welcome": (
        "您好，欢迎关注{store}！\n"
        "在这里您可以：\n"
        "1. 预约保养、维修、钣喷、美容等到店服务\n"
        "2. 查看、改约或取消您的预约\n"
        "3. 接收保养和预约提醒\n"
        "回复“帮助”查看全部功能，回复“人工”联系服务顾问。"
    ),
    "welcome_back": "欢迎回来！回复“帮助”查看可以做的事。",
    "help": (
        "您可以回复：\n"
        "· 预约 —— 预约到店服务，例如“明天下午3点 粤A12345 保养”\n"
        "· 我的预约 —— 查看已有预约\n"
        "· 联系门店 —— 门店地址和电话\n"
        "· 帮助 —— 查看本说明"
    ),
    "unknown": "抱歉，我没有看懂“{text}”。\n{help}",
    "voice_unrecognized": "抱歉，没能听清您的语音，请直接打字告诉我。",
    "media_received": "已收到您发来的{kind}。目前我只能读懂文字，请用文字告诉我您需要什么。",
    "location_received": "已收到您的位置。门店地址：{address}，电话：{phone}。",
    "contact": "{store}\n地址：{address}\n电话：{phone}\n营业时间：{hours}",
    "scan_known": "您已关注{store}，回复“帮助”查看可以做的事。",
    "coming_soon": "“{feature}”功能即将开放，目前请致电 {phone} 办理。",
    "next_page_hint": "（第{page}/{pages}页，回复“下一页”继续）",
    "no_more_pages": "没有更多内容了。",
    "late_reply_prefix": "",
    "error": "抱歉，系统开小差了，请稍后再试。如需帮助请致电 {phone}。",
}

MEDIA_KINDS: dict[str, str] = {
    "image": "图片",
    "video": "视频",
    "shortvideo": "小视频",
    "link": "链接",
    "file": "文件",
}


def render(key: str, /, **params: Any) -> str:
    """The text for `key` with its params filled in; a missing key or param is a bug and raises."""
    return REPLIES[key].format(**params)
