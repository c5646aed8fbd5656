"""Replies for staff working with customers: search, profile, new customer, edits, follow-ups."""

REPLIES: dict[str, str] = {
    # 帮助 lines
    "customers.help_find": "· 查客户 —— 按手机号、尾号、车牌或姓名查找，例如“查客户 尾号5678”",
    "customers.help_profile": "· 客户 —— 查看客户档案，例如“客户 C1024”",
    "customers.help_new": "· 新增客户 —— 逐步登记新客户和车辆",
    "customers.help_edit": "· 修改客户 —— 改一项资料，例如“修改客户 C1024 手机 13800001111”",
    "customers.help_follow_up": "· 跟进 —— 记录跟进，例如“跟进 C1024 电话沟通保养 下次 周五”",
    # 查客户
    "customers.search_help": (
        "请告诉我查什么，例如：\n"
        "· 查客户 138（手机号前几位，至少 3 位）\n"
        "· 查客户 尾号5678\n"
        "· 查客户 粤A12345 或 车牌后几位 12345\n"
        "· 查客户 张 或 张三"
    ),
    "customers.none_found": "没有找到与“{query}”相符的客户。可换手机尾号、车牌或姓名再查。",
    "customers.found": "找到 {count} 位客户：",
    "customers.found_many": "超过 {limit} 位客户相符，以下为前 {limit} 位；请输入更完整的信息缩小范围。",
    "customers.hit": "{code} {name} {mobile}\n  {vehicles}｜负责：{owner}",
    "customers.no_vehicle": "暂无车辆",
    "customers.no_owner": "未分配",
    "customers.no_name": "（未留姓名）",
    "customers.no_mobile": "无手机号",
    # 客户 <id>
    "customers.profile_usage": "请带上客户编号，例如“客户 C1024”（编号可用“查客户”查到）。",
    "customers.not_found": "没有编号为 {code} 的客户，请用“查客户”查一下编号。",
    "customers.profile": "{code} {name} {mobile}\n负责顾问：{owner}{note}\n{sections}",
    "customers.profile_note": "\n备注：{note}",
    "customers.section_vehicles": "车辆：\n{lines}",
    "customers.section_visits": "最近到店：\n{lines}",
    "customers.section_upcoming": "即将到店：\n{lines}",
    "customers.section_follow_ups": "最近跟进：\n{lines}",
    "customers.section_owners": "负责人变更：\n{lines}",
    "customers.no_vehicles": "车辆：暂无",
    "customers.no_visits": "最近到店：暂无",
    "customers.no_upcoming": "即将到店：暂无",
    "customers.no_follow_ups": "最近跟进：暂无",
    "customers.vehicle_line": "· {plate} {model}\n  {details}\n  下次保养：{due}",
    "customers.vehicle_vin": "VIN {vin}",
    "customers.vehicle_bought": "购车 {day}",
    "customers.vehicle_mileage": "里程 {km} 公里",
    "customers.vehicle_no_details": "暂无 VIN、购车日期和里程",
    "customers.due_unknown": "待补充购车日期或到店记录",
    "customers.due_by_time": "{day}前后",
    "customers.due_by_km": "{day}前后（约 {km} 公里）",
    "customers.due_overdue": "{day}（已到期）",
    "customers.visit_line": "· {when} {service} {plate}{mileage}",
    "customers.visit_mileage": " {km} 公里",
    "customers.upcoming_line": "· {when} {service} {plate} {reference}（{status}）",
    "customers.status_booked": "已预约",
    "customers.status_checked_in": "已到店",
    "customers.follow_up_line": "· {day} {staff} {method}：{content}{result}{next}",
    "customers.follow_up_result": "（{result}）",
    "customers.follow_up_next": "，下次 {when}",
    "customers.owner_line": "· {day} {from_name} → {to_name}（{reason}{by}）",
    "customers.owner_by": "，经手 {name}",
    "customers.owner_nobody": "无",
    "customers.method_phone": "电话",
    "customers.method_wechat": "微信",
    "customers.method_visit": "到店",
    "customers.method_other": "其他",
    # 新增客户 dialog
    "new_customer.left": "刚才的新增客户还没保存，已放弃。",
    "new_customer.expired": "上次的新增客户超过30分钟没有完成，已自动取消，未保存任何信息。",
    "new_customer.cancelled": "好的，已取消新增客户，未保存任何信息。",
    "new_customer.too_many_misses": "还是没能看懂。回复“帮助”查看各项的填写格式，或回复“取消”放弃新增客户。",
    "new_customer.what": "登记新客户（依次是姓名、手机、车牌、车型，VIN、购车日期和里程可跳过）",
    "new_customer.ask_name": "新增客户。请输入客户姓名（也可一次发“李四 13800001111 粤A12345”）：",
    "new_customer.retry_name": "请输入客户姓名，例如“李四”（不含数字）。",
    "new_customer.ask_mobile": "请输入客户手机号：",
    "new_customer.retry_mobile": "手机号应为 11 位，例如 13800001111，请重新输入：",
    "new_customer.ask_plate": "请输入车牌号，例如 粤A12345：",
    "new_customer.retry_plate": "没认出车牌，请按“粤A12345”或新能源“粤AD12345”的格式输入：",
    "new_customer.ask_model": "请输入车型，例如“凯美瑞 2022款”：",
    "new_customer.retry_model": "请输入车型（64 字以内），例如“凯美瑞 2022款”：",
    "new_customer.ask_vin": "请输入 17 位车架号（VIN），没有可回复“跳过”：",
    "new_customer.retry_vin": "VIN 应为 17 位字母和数字（不含 I、O、Q），请重新输入，或回复“跳过”：",
    "new_customer.ask_purchase_date": "购车日期是哪天？例如“2024年3月15日”，不清楚可回复“跳过”：",
    "new_customer.retry_purchase_date": (
        "没看懂日期，请按“2024年3月15日”或“2024年3月”输入（不能晚于今天），或回复“跳过”："
    ),
    "new_customer.ask_mileage": "当前里程多少？例如“3万公里”或“30000”，不清楚可回复“跳过”：",
    "new_customer.retry_mileage": "请输入里程数字，例如“3万公里”或“30000”，或回复“跳过”：",
    "new_customer.duplicate": (
        "{what} 已登记在客户 {code} {name} 名下（负责：{owner}），不必重复新增：发送“客户 {code}”查看。\n"
        "如是另一位客户，请重新输入，或回复“取消”。"
    ),
    "new_customer.field_mobile": "手机号",
    "new_customer.field_plate": "车牌",
    "new_customer.field_vin": "车架号",
    "new_customer.confirm": (
        "请确认新客户：\n姓名：{name}\n手机：{mobile}\n车牌：{plate}\n车型：{model}\n"
        "VIN：{vin}\n购车日期：{purchase_date}\n里程：{mileage}\n"
        "回复“确认”保存；要修改请回复“改姓名”“改手机”“改车牌”“改车型”“改VIN”“改购车日期”或“改里程”。"
    ),
    "new_customer.not_given": "未填",
    "new_customer.done_clerk": "已新增客户 {code} {name}（{plate}），由你负责。",
    "new_customer.done_manager": (
        "已新增客户 {code} {name}（{plate}），暂未分配负责顾问；请发送“转移客户 {code} 店员姓名”指定。"
    ),
    # 修改客户
    "customers.edit_usage": (
        "请按“修改客户 编号 项目 新内容”发送，例如“修改客户 C1024 手机 13800001111”。\n"
        "可改：姓名、手机、车牌、车型、VIN、购车日期、里程、备注。"
    ),
    "customers.edit_value_missing": "请在项目后写上新内容，例如“修改客户 C1024 车型 凯美瑞”。",
    "customers.edit_which_vehicle": "该客户有多辆车，请在内容前写上车牌，例如“修改客户 C1024 里程 粤A12345 30000”。",
    "customers.bad_name": "姓名应为 1-32 个字且不含数字。",
    "customers.bad_mobile": "手机号不对：应为 11 位、以 13-19 开头，例如 13800001111。",
    "customers.bad_plate": "车牌不对，请按“粤A12345”或新能源“粤AD12345”的格式输入。",
    "customers.bad_vin": "VIN 应为 17 位字母和数字，不含 I、O、Q。",
    "customers.bad_purchase_date": "没看懂购车日期，请按“2024年3月15日”输入，且不能晚于今天。",
    "customers.bad_mileage": "里程请写数字，例如“3万公里”或“30000”。",
    "customers.edit_duplicate": "{what} 已登记在客户 {code} {name} 名下（负责：{owner}），未修改。",
    "customers.edited": "已将 {code} {name} 的{label}改为 {value}。",
    "customers.edited_vehicle": "已将 {code} {name} 的 {plate} {label}改为 {value}。",
    "customers.not_yours": "该客户由 {owner} 负责，请联系 {owner} 或店长处理。",
    "customers.label_name": "姓名",
    "customers.label_mobile": "手机号",
    "customers.label_plate": "车牌",
    "customers.label_model": "车型",
    "customers.label_vin": "VIN",
    "customers.label_purchase_date": "购车日期",
    "customers.label_mileage": "里程",
    "customers.label_note": "备注",
    # 跟进
    "customers.follow_up_usage": (
        "请按“跟进 编号 内容 [下次 时间]”发送，例如“跟进 C1024 电话沟通保养，已预约 下次 周五”。"
    ),
    "customers.follow_up_bad_next": (
        "没看懂“下次”后的时间，例如“下次 周五”或“下次 12月5日下午3点”。这条跟进未记录，请重发。"
    ),
    "customers.follow_up_past_next": "下次跟进时间应在现在之后。这条跟进未记录，请重发。",
    "customers.follow_up_done": "已记录 {code} {name} 的跟进（{method}{result}）。",
    "customers.follow_up_done_next": "已记录 {code} {name} 的跟进（{method}{result}），下次跟进：{when}。",
    "customers.follow_up_not_reached": "，未接通",
    "customers.follow_up_result_short": "，{result}",
}
