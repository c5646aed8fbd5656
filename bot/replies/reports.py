"""Replies for managers' reports."""

REPLIES: dict[str, str] = {
    "reports.help": "· 报表 —— 预约、到店、跟进和任务数据，例如“报表 本周”（可查 今天、本周、本月）",
    "reports.usage": "请这样查：报表 今天、报表 本周 或 报表 本月（也可查 昨天、上周、上月）。",
    "reports.period_today": "今天（{first}）",
    "reports.period_yesterday": "昨天（{first}）",
    "reports.period_this_week": "本周（{first}—{last}）",
    "reports.period_last_week": "上周（{first}—{last}）",
    "reports.period_this_month": "本月（{month}月）",
    "reports.period_last_month": "上月（{month}月）",
    "reports.no_rate": "—",
    "reports.summary": (
        "报表 {period}\n"
        "预约：新增 {booked} 个（客户自约 {booked_self}，店员代约 {booked_by_clerks}）\n"
        "到店：完成 {completed} 个；到店率 {rate}（{showed}/{due}）；未到 {no_shows} 个\n"
        "跟进：{follow_ups} 次，联系上 {reached} 位客户\n"
        "任务：完成 {tasks_done} 个，逾期 {tasks_overdue} 个\n"
        "流失：{lost} 位客户（满12个月未回店）\n"
        "—— 各店员 ——"
    ),
    "reports.line": (
        "{name}：代约 {booked} · 跟进 {follow_ups}（联系上 {reached} 人）· 任务完成 {done} · 逾期 {overdue}"
    ),
    "reports.no_staff": "（还没有店员）",
    "reports.inactive": "（已停用）",
    "reports.legend": (
        "说明：到店率＝已到店或已完成 ÷ 期内已到预约时间且未取消的预约；"
        "逾期＝目前已过截止仍未完成＋期内过了截止才完成的任务；"
        "流失＝上次到店满12个月、其间没有再到店或预约的客户（期内新标记的）。"
    ),
}
