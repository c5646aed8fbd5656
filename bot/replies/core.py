"""Replies every user may see: welcome, help, errors, dialogs, booking and a customer's own appointments."""

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
    # 帮助 lists exactly the commands the speaker may use (bot.handlers.commands), one example each.
    "help.customer": "您可以回复：\n{commands}",
    "help.clerk": "您好，顾问！您可以回复：\n{commands}",
    "help.manager": "您好，店长！您可以回复：\n{commands}",
    "help.book": "· 预约 —— 预约到店服务，例如“明天下午3点 粤A12345 保养”",
    "help.my_appointments": "· 我的预约 —— 查看已有预约",
    "help.change_appointment": "· 改约 / 取消预约 —— 例如“改约 1”“取消预约 A1024”",
    "help.contact": "· 联系门店 —— 门店地址和电话",
    "help.help": "· 帮助 —— 查看本说明",
    "roles.managers_only": "该功能仅限店长使用。回复“帮助”查看您可以使用的功能。",
    "roles.staff_only": "该功能仅限门店员工使用。回复“帮助”查看您可以使用的功能。",
    "roles.customers_only": "该功能供车主使用。回复“帮助”查看您可以使用的员工功能。",
    "staff.unknown": "没有看懂“{text}”。您是不是想用：\n{suggestions}\n回复“帮助”查看全部功能。",
    "staff.unknown_plain": "没有看懂“{text}”。回复“帮助”查看您可以使用的功能。",
    "unknown": "抱歉，我没有看懂“{text}”。\n{help}",
    "nothing_open": "现在没有进行中的预约。如需取消已有的预约，请回复“取消预约”；回复“帮助”查看全部功能。",
    "staff.nothing_open": "现在没有进行中的操作。回复“帮助”查看您可以使用的功能。",
    "voice_unrecognized": "抱歉，没能听清您的语音，请直接打字告诉我。",
    "media_received": "已收到您发来的{kind}。目前我只能读懂文字，请用文字告诉我您需要什么。",
    "location_received": "已收到您的位置。门店地址：{address}，电话：{phone}。",
    "contact": "{store}\n地址：{address}\n电话：{phone}\n营业时间：{hours}",
    "scan_known": "您已关注{store}，回复“帮助”查看可以做的事。",
    "coming_soon": "“{feature}”功能即将开放，目前请致电 {phone} 办理。",
    "next_page_hint": "（第{page}/{pages}页，回复“下一页”继续）",
    "no_more_pages": "没有更多内容了。",
    "error": "抱歉，系统开小差了，请稍后再试。如需帮助请致电 {phone}。",
    "busy": "正在处理您的上一条消息，请稍候再试。",
    # --- every dialog ---
    "dialog.help": "您正在{what}。可随时回复：取消（放弃）、返回（上一步）、重新开始。",
    "dialog.cancelled": "好的，已取消。需要时回复“预约”重新开始。",
    "dialog.restarted": "好的，我们重新开始。",
    "dialog.at_first_step": "已经是第一步了。",
    "dialog.left": "刚才的操作还没完成，已放弃。",
    "booking.left": "刚才的预约还没提交，已放弃。",
    "dialog.expired": "上次的预约超过30分钟没有完成，已自动取消。",
    "dialog.too_many_misses": "抱歉，我还是没能看懂。您可以回复“取消”放弃，或致电 {phone} 由服务顾问为您办理。",
    "dialog.confirm_retry": "请回复“确认”提交，或“改时间”“改车牌”“改项目”修改，“取消”放弃。",
    "dialog.what_to_change": "请告诉我要修改什么：改时间、改车牌、改项目，或回复“取消”放弃。",
    # --- booking ---
    "booking.what": "预约到店服务",
    "booking.ask_plate": "请告诉我您的车牌号，例如：粤A12345。",
    "booking.retry_plate": "车牌格式好像不对，请按 粤A12345 的格式输入车牌（新能源车为8位，如 粤AD12345）。",
    "booking.ask_vehicle": "请问是哪辆车？\n{menu}\n回复序号，或直接发送新的车牌。",
    "booking.retry_vehicle": "请回复车辆序号（如 1），或按 粤A12345 的格式发送车牌。\n{menu}",
    "booking.no_plate": (
        "在线预约需要登记车牌。还没有车或新车未上牌（比如想预约试驾），请致电 {phone}，顾问为您安排；"
        "有车牌请直接发送，例如 粤A12345。"
    ),
    "booking.ask_service": "请问需要什么服务？\n{menu}\n回复序号或名称即可。",
    "booking.retry_service": "请回复服务序号（如 1）或名称（如 保养、维修）。\n{menu}",
    "booking.ask_when": "请问您想哪天几点到店？例如：明天下午3点、周六上午10点。",
    "booking.retry_when": "没能看懂时间，请这样说：明天下午3点、12月3日上午10点。",
    "booking.ask_time_of_day": "{day}可预约的时间：\n{menu}\n回复序号，或直接说几点（如 下午3点）。",
    "booking.day_full": "{day}已经约满了。最近可预约的时间：\n{menu}\n回复序号选择，或换一个时间。",
    "booking.slot_refused": "{reason}最近可预约的时间：\n{menu}\n回复 {picks} 选择，或换一个时间。",
    "booking.no_slots": "{reason}近期暂无可预约的时间，请致电 {phone} 咨询。",
    "booking.past": "这个时间已经过去了。",
    "booking.too_soon": "需要至少提前{lead}预约。",
    "booking.too_far": "目前只能预约{days}天内的时间。",
    "booking.closed_day": "{day}门店休息。",
    "booking.outside_hours": "这个时间不在营业时间（{hours}）内。",
    "booking.full": "这个时间已经约满了。",
    "booking.not_on_grid": "预约时间需为整点或半点。",
    "booking.unknown_service": "这个项目暂不支持在线预约。",
    "booking.ask_name": "第一次预约，请问怎么称呼您？",
    "booking.retry_name": "请告诉我您的姓名，例如：张三。",
    "booking.ask_mobile": "请留下您的手机号，方便服务顾问联系您。",
    "booking.retry_mobile": "手机号格式不对，请输入11位手机号，例如 13800138000。",
    "booking.confirm": (
        "请确认预约信息：\n车牌：{plate}\n项目：{service}\n时间：{when}\n{person}"
        "回复“确认”提交；“改时间”“改车牌”“改项目”修改；“取消”放弃。"
    ),
    "booking.confirm_person": "姓名：{name}\n手机：{mobile}\n",
    "booking.done": (
        "预约成功！预约号 {reference}\n{when} {service}（{plate}）\n"
        "地址：{address}\n电话：{phone}\n如需改约请回复“改约 {reference}”，取消请回复“取消预约 {reference}”。"
    ),
    "booking.overlap": (
        "您在{when}已有预约（预约号 {reference}），同一时间不能重复预约。如需改约请回复“改约 {reference}”。"
    ),
    "booking.plate_taken": "车牌 {plate} 已登记在其他客户名下，请核对后重新输入，或致电 {phone} 由服务顾问处理。",
    # --- my appointments ---
    "appts.none": "您目前没有待到店的预约。回复“预约”即可预约。",
    "appts.list": "您的预约：\n{items}\n改约请回复“改约 序号”，取消请回复“取消预约 序号”。",
    "appts.item": "{n}. {when} {service}（{plate}）预约号 {reference}",
    "pick_appointment.ask": "请问要{action}哪个预约？回复序号即可：\n{listing}",
    "pick_appointment.retry": "请回复序号（1-{count}）或预约号：\n{listing}",
    "pick_appointment.what": "选择预约",
    "pick_appointment.cancelled": "好的，预约保持不变。",
    "pick_appointment.left": "好的，刚才列出的预约没有修改。",
    "pick_appointment.expired": "刚才列出的预约已超过30分钟没有选择，没有做任何修改。",
    "appts.which_action": "第{n}个预约：{item}\n改约请回复“改约 {n}”，取消请回复“取消预约 {n}”。",
    "appts.not_found": "没有找到这个预约，请回复“我的预约”查看您的预约。",
    "appts.not_changeable": "预约 {reference} 已到店或已结束，无法在线修改。如有疑问请致电 {phone}。",
    "appts.too_late": "距离预约时间已不足2小时，无法在线修改，请致电 {phone} 联系门店。",
    "appts.cancelled": "已取消预约 {reference}（{when}）。期待您下次光临。",
    "reschedule.what": "修改预约",
    "reschedule.left": "刚才的改约还没提交，已放弃，预约保持原时间。",
    "reschedule.cancelled": "好的，不改约了，预约保持原时间。",
    "reschedule.expired": "上次的改约超过30分钟没有完成，已自动取消，预约保持原时间。",
    "reschedule.ask_when": "预约 {reference} 原定 {old}。请问改到什么时间？例如：周六上午10点。",
    "reschedule.confirm": (
        "请确认改约：\n预约号：{reference}\n原时间：{old}\n新时间：{when}\n回复“确认”提交，或“取消”放弃。"
    ),
    "reschedule.done": "改约成功！预约号 {reference}，新时间 {when}。地址：{address}，电话：{phone}。",
}
