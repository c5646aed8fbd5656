"""Notification texts: the customer-service message sent instead of a template that is not configured."""

from __future__ import annotations

# One sentence per template kind, with the same named values the template would carry
# (see bot.services.notify.TEMPLATES). Sent only inside WeChat's 48-hour customer-service window.
REPLIES: dict[str, str] = {
    "notify.appointment_confirmed": "预约成功：{time} {service}，车牌 {plate}，预约号 {reference}。",
    "notify.appointment_changed": (
        "您的预约已改到 {time}（原 {previous_time}）：{service}，车牌 {plate}，预约号 {reference}。"
    ),
    "notify.appointment_cancelled": "您 {time} 的{service}预约（车牌 {plate}，预约号 {reference}）已取消：{reason}。",
    "notify.appointment_reminder": (
        "温馨提醒：您预约了 {time} {service}，车牌 {plate}，预约号 {reference}，请准时到店。"
    ),
    "notify.new_appointment": "新预约 {reference}：{customer}（{mobile}）{time} {item}。",
    "notify.appointment_changed_staff": "预约 {reference} {change}：{customer}，{time} {item}。",
    "notify.task_assigned": "新任务：{task}，截止 {due}，客户 {customer}，由 {assigner} 安排。",
    "notify.task_due": "任务{state}：{task}，截止 {due}，客户 {customer}。",
    "notify.maintenance_due": "您的爱车 {plate} 快到保养时间了（{due}，{reason}），回复“预约”即可约保养。",
    "notify.follow_up_due": "{day} 有 {count} 位客户待回访：{customers}。",
    "notify.daily_digest": "{day} 概况：预约 {appointments} 个，逾期任务 {overdue_tasks} 个，昨日爽约 {no_shows} 个。",
    # Why a row could not be delivered, as `python -m bot outbox` shows it.
    "notify.no_template": "没有配置模板，且用户48小时内未互动",
    "notify.no_values": "没有配置模板，消息未带可转为客服消息的内容",
}
