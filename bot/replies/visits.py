"""Replies for staff working with appointments: day lists, 代客预约, check-in, completion, no-shows."""

REPLIES: dict[str, str] = {
    # --- 帮助 lines ---
    "visits.help_today": "· 今日预约 —— 今天全店的预约",
    "visits.help_tomorrow": "· 明日预约 —— 明天全店的预约",
    "visits.help_day": "· 预约 <日期> —— 某天的预约，例如“预约 周一”“预约 12月3号”",
    "visits.help_book": "· 代客预约 <客户编号> —— 替客户预约，例如“代客预约 C1024”",
    "visits.help_check_in": "· 到店 <预约号> —— 登记客户到店，例如“到店 A1024”",
    "visits.help_complete": "· 完成 <预约号> [里程] [备注] —— 例如“完成 A1024 里程 32000 更换刹车片”",
    "visits.help_no_show": "· 未到 <预约号> —— 客户没来，例如“未到 A1024”",
    # --- day lists ---
    "visits.day_header": "{day}共 {count} 个预约",
    "visits.day_header_more": "{day}的预约（续）",
    "visits.day_empty": "{day}没有预约。",
    "visits.day_entry": (
        "{number}. {time} {reference}【{status}】\n   {customer} {mobile} {plate}\n   {service} · 顾问：{owner}"
    ),
    "visits.day_cancelled": "另有 {count} 个已取消的预约未列出。",
    "visits.day_hint": "查看其他日期请回复“预约 明天”“预约 周一”或“预约 12月3号”。",
    "visits.day_unknown": "没看懂日期“{text}”。请这样说：预约 明天、预约 周一、预约 12月3号。",
    "visits.status_booked": "待到店",
    "visits.status_checked_in": "已到店",
    "visits.status_completed": "已完成",
    "visits.status_no_show": "未到",
    "visits.status_cancelled": "已取消",
    "visits.no_owner": "未分配",
    "visits.no_mobile": "未留手机号",
    "visits.no_plate": "无车牌",
    "visits.unnamed": "客户",
    # --- 到店 / 完成 / 未到 ---
    "visits.reference_missing": "请带上预约号，例如“{command} A1024”。",
    "visits.not_found": "没有找到预约号 {reference}，请核对后再试。",
    "visits.checked_in": (
        "已登记到店：{reference} {customer} {plate} {service}（预约 {when}）。\n"
        "完工后回复“完成 {reference} 里程 <公里数>”。"
    ),
    "visits.checked_in_late": (
        "已登记到店：{reference} {customer} {plate} {service}（预约 {when}）。"
        "客户迟到，之前标记的未到已改为到店，回访任务已撤销。"
    ),
    "visits.completed": "已完成：{reference} {customer} {plate} {service}{mileage}{note}\n已记入车辆保养记录。",
    "visits.completed_mileage": "\n里程：{km} 公里",
    "visits.completed_note": "\n备注：{note}",
    "visits.bad_mileage": "没看懂里程，请这样写：完成 {reference} 里程 32000，或 里程 3.2万。",
    "visits.no_show_marked": "已标记未到：{reference} {customer} {plate}（预约 {when}）。\n已给{owner}创建回访任务。",
    "visits.no_show_marked_alone": (
        "已标记未到：{reference} {customer} {plate}（预约 {when}）。\n没有可接手的顾问或店长，未创建回访任务。"
    ),
    "visits.no_show_task": "回访未到店客户 {customer}（{reference} {when} {service}）",
    "visits.action_check_in": "登记到店",
    "visits.action_complete": "完成",
    "visits.action_no_show": "标记未到",
    "visits.refused_cancelled": "预约 {reference} 已取消，无法{action}。如需重新预约，请回复“代客预约 {customer}”。",
    "visits.refused_completed": "预约 {reference} 已于 {at} 完成，无法{action}。",
    "visits.refused_checked_in": "预约 {reference} 已于 {at} 登记到店，无需{action}。",
    "visits.refused_no_show": (
        "预约 {reference}（{when}）已标记为未到，无法{action}。如客户仍需服务，请回复“代客预约 {customer}”重新预约。"
    ),
    "visits.refused_future": "预约 {reference} 在 {when}，还没到那天，无法{action}。",
    "visits.refused_not_checked_in": (
        "预约 {reference}（{when}）没有登记到店，请先回复“到店 {reference}”，再回复“完成 {reference}”。"
    ),
    "visits.refused_not_started": "预约 {reference} 在 {when} 开始，还没到时间，不能标记未到。",
    "visits.refused_mileage_lower": (
        "里程 {km} 公里低于这辆车上次记录的 {last} 公里，请核对后重新发送“完成 {reference} 里程 <公里数>”。"
    ),
    # --- 代客预约 ---
    "visits.book_usage": "请带上客户编号，例如“代客预约 C1024”。客户编号可以用“查客户”查到。",
    "visits.book_no_customer": "没有找到客户 {code}，请用“查客户”核对编号。",
    "visits.book_gone": "这位客户的记录已不存在，代客预约已结束。",
    "visits.book_start": "为客户 {customer}（{mobile}）代约。",
    "visits.book_ask_plate": "请发送客户的车牌号，例如：粤A12345。",
    "visits.book_no_plate": (
        "预约需要登记车牌。客户还没有车或新车未上牌时暂不能在系统中预约，可先用“跟进”记下。发送车牌即可继续。"
    ),
    "visits.book_ask_vehicle": "客户的哪辆车？\n{menu}\n回复序号，或发送新车牌（将登记到这位客户名下）。",
    "visits.book_retry_vehicle": "请回复车辆序号（如 1），或按 粤A12345 的格式发送车牌。\n{menu}",
    "visits.book_ask_when": "客户想哪天几点到店？例如：明天下午3点、周一上午10点。",
    "visits.book_confirm": (
        "请确认代客预约：\n客户：{customer}（{mobile}）\n车牌：{plate}\n项目：{service}\n时间：{when}\n"
        "回复“确认”提交；“改时间”“改车牌”“改项目”修改；“取消”放弃。"
    ),
    "visits.book_done": "代约成功！预约号 {reference}\n{customer} {when} {service}（{plate}）\n{notice}",
    "visits.book_notified": "已通过公众号通知客户。",
    "visits.book_not_notified": "客户没有关注公众号，无法发送预约通知，请电话告知客户。",
    "visits.book_overlap": "客户在{when}已有预约（预约号 {reference}），同一时间不能重复预约。",
    "visits.book_plate_taken": "车牌 {plate} 已登记在其他客户名下，请核对后重新发送车牌。",
    # The 代客预约 dialog's own wording of the moments every dialog has (Dialog.wording).
    "book_for_customer.what": "为客户代约到店服务",
    "book_for_customer.cancelled": "好的，已取消代客预约。",
    "book_for_customer.left": "刚才的代客预约还没提交，已放弃。",
    "book_for_customer.expired": "上次的代客预约超过30分钟没有完成，已自动取消，未预约。",
    "book_for_customer.too_many_misses": "还是没能看懂。回复“帮助”查看说明，或回复“取消”放弃代客预约。",
}
