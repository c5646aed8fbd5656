"""Replies about tasks: assigning, my tasks, completing, revoking, statistics."""

REPLIES: dict[str, str] = {
    # --- 帮助 lines ---
    "tasks.help_assign": "· 派任务 —— 给店员派任务，例如“派任务 @张三 周五前 回访客户王五”；只发“派任务”可逐步填写",
    "tasks.help_my": "· 我的任务 —— 查看我未完成的任务",
    "tasks.help_finish": "· 完成任务 —— 例如“完成任务 T12 已回访，下周到店”",
    "tasks.help_task": "· 任务 —— 查看任务详情，例如“任务 T12”；店长只发“任务”可看全店未完成任务",
    "tasks.help_stats": "· 任务统计 —— 各店员任务完成情况，例如“任务统计 本月”",
    "tasks.help_revoke": "· 撤销任务 —— 例如“撤销任务 T12”",
    # --- 派任务 ---
    "tasks.assign_usage": (
        "请这样派任务：派任务 @张三 周五前 回访客户王五 保养报价\n"
        "可@多位店员，每人一个任务；截止时间可不写。只发“派任务”可逐步填写。"
    ),
    "tasks.no_title": "请写上任务内容，例如：派任务 @张三 周五前 回访客户王五",
    "tasks.unknown_staff": "没有找到在职店员“{names}”。在职店员有：{staff}",
    "tasks.due_past": "截止时间 {when} 已经过了，请换一个以后的时间。",
    "tasks.due_passed": "截止时间已经过了，请重新告诉我截止时间，或回复“无”。",
    "tasks.assigned": "已派出 {count} 个任务：{title}\n{lines}{customer}{unbound}",
    "tasks.assigned_line": "{code} {assignee}，{due}",
    "tasks.linked_customer": "\n关联客户：{name} {code}",
    "tasks.customer_ambiguous": "\n文中的客户有 {count} 位匹配，未关联；写上手机号、车牌或客户编号即可关联。",
    "tasks.unbound": "\n提示：{names} 还没有绑定微信，收不到任务通知，请当面告知。",
    "tasks.nobody_left": "这些店员已停用，没有派出任务。回复“派任务”重新选择店员。",
    "tasks.staff_with_no": "{name}（工号 {no}）",
    "tasks.staff_with_mobile": "{name}（{mobile}）",
    # --- the 派任务 dialog ---
    "assign_task.left": "刚才的派任务还没提交，已放弃，未创建任务。",
    "assign_task.expired": "上次的派任务超过30分钟没有完成，已自动取消，未创建任务。",
    "assign_task.too_many_misses": "还是没能看懂。回复“帮助”查看说明，或回复“取消”放弃派任务。",
    "assign_task.what": "派任务",
    "tasks.ask_assignees": "派给谁？请回复店员姓名，多人用空格隔开，例如“张三 李四”。",
    "tasks.retry_assignees": "请回复店员姓名，例如“张三”。在职店员有：{staff}",
    "tasks.which_staff": "有 {count} 位店员叫“{name}”，请回复序号选择：\n{menu}",
    "tasks.ask_title": "任务内容是什么？例如“回访客户王五 保养报价”（写上客户姓名、手机号或车牌可关联客户）。",
    "tasks.retry_title": "请用一句话写任务内容，例如“回访客户王五 保养报价”。",
    "tasks.ask_due": "截止时间？例如“周五前”“明天下午3点”；不限时间请回复“无”。",
    "tasks.retry_due": "没看懂这个时间。请回复例如“周五”“12月3日 10点”，不限时间回复“无”。",
    "tasks.confirm": (
        "请确认任务：\n派给：{assignees}\n内容：{title}\n截止：{due}{customer}\n"
        "回复“确认”派出；要修改可回复“改店员”“改内容”“改截止”，或“取消”。"
    ),
    "tasks.confirm_retry": "请回复“确认”派出，或“改店员”“改内容”“改截止”修改，“取消”放弃。",
    "tasks.what_to_change": "要修改什么？回复“改店员”“改内容”或“改截止”，或回复“取消”放弃。",
    "tasks.dialog_cancelled": "好的，已取消，没有派出任务。",
    # --- deadlines in words ---
    "tasks.due_none": "无截止时间",
    "tasks.due_today": "今天 {time} 截止",
    "tasks.due_tomorrow": "明天 {time} 截止",
    "tasks.due_day": "{day}截止",
    "tasks.due_day_time": "{day}{time} 截止",
    "tasks.overdue_days": "已逾期 {n} 天",
    "tasks.overdue_hours": "已逾期 {n} 小时",
    "tasks.overdue_minutes": "已逾期 {n} 分钟",
    # --- 我的任务 and the managers' 任务 ---
    "tasks.mine_none": "您目前没有未完成的任务。",
    "tasks.mine_header": "您有 {count} 个未完成任务{overdue}：",
    "tasks.overdue_count": "（{count} 个已逾期）",
    "tasks.item": "{code} {title}\n　{due}{customer}",
    "tasks.item_customer": " · 客户 {name} {code}",
    "tasks.mine_footer": "做完后回复“完成任务 编号 备注”，例如“完成任务 {code} 已回访”。",
    "tasks.all_none": "全店目前没有未完成的任务。",
    "tasks.all_header": "全店未完成任务 {count} 个{overdue}，按店员：",
    "tasks.group": "【{name}】{count} 个{overdue}",
    "tasks.group_more": "【{name}】（续）",
    "tasks.group_overdue": "，逾期 {count} 个",
    "tasks.inactive": "（已停用）",
    # --- 任务 T12 ---
    "tasks.id_usage": "请带上任务编号，例如“{word} T12”。回复“我的任务”可查看编号。",
    "tasks.not_found": "没有找到任务 {code}，请核对编号（回复“我的任务”可查看）。",
    "tasks.not_visible": "任务 {code} 不是派给您的，无法查看。",
    "tasks.detail": (
        "任务 {code}（{status}）\n内容：{title}\n负责：{assignee}\n派发：{creator}，{created}\n"
        "截止：{due}{customer}{extra}"
    ),
    "tasks.detail_customer": "\n客户：{name} {code} {mobile}",
    "tasks.detail_overdue": "，{late}",
    "tasks.detail_done": "\n完成：{when}{note}",
    "tasks.detail_note": "，备注：{note}",
    "tasks.detail_revoked": "\n撤销：{when}",
    "tasks.status_open": "未完成",
    "tasks.status_done": "已完成",
    "tasks.status_revoked": "已撤销",
    "tasks.system": "系统自动",
    # --- 完成任务 ---
    "tasks.not_yours": "任务 {code} 是派给{assignee}的，只有{assignee}本人或店长可以完成。",
    "tasks.already_done": "任务 {code} 已于 {when} 完成，无需再次完成。",
    "tasks.already_revoked": "任务 {code} 已被撤销，无需处理。",
    "tasks.done": "已完成任务 {code}：{title}{note}{left}",
    "tasks.done_note": "\n备注：{note}",
    "tasks.done_left": "\n您还有 {count} 个未完成任务，回复“我的任务”查看。",
    "tasks.done_all": "\n您的任务都完成了，辛苦了！",
    "tasks.done_notice": "{who}完成了任务 {code}：{title}{note}",
    # --- 撤销任务 ---
    "tasks.revoked": "已撤销任务 {code}：{title}（{assignee}）。{told}",
    "tasks.revoked_told": "已通知{assignee}。",
    "tasks.revoked_untold": "{assignee}未绑定微信，请当面告知。",
    "tasks.revoked_notice": "任务 {code} 已被{who}撤销：{title}。无需再处理。",
    # --- 任务统计 ---
    "tasks.stats_usage": "请这样查：任务统计 本周，或 任务统计 本月。",
    "tasks.stats_header": "任务统计 {period}：",
    "tasks.stats_legend": (
        "说明：未完成＝目前未完成；完成＝期内完成；逾期＝目前已过截止仍未完成＋期内过了截止才完成；"
        "按时率＝期内完成且有截止时间的任务中，按时完成的比例。"
    ),
    "tasks.stats_line": "{name}：未完成 {open} · 完成 {done} · 逾期 {overdue} · 按时率 {rate}",
    "tasks.stats_none": "（还没有店员）",
}
