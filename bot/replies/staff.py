"""Replies for staff accounts: binding, invitations, deactivation, ownership transfers, menus."""

REPLIES: dict[str, str] = {
    # 帮助 lines
    "staff.help_invite": "· 邀请店员 —— 生成绑定码和二维码，例如“邀请店员 张三 13800001111”（邀请店长在末尾加“店长”）",
    "staff.help_deactivate": "· 停用店员 —— 例如“停用店员 张三 交接给 李四”或“停用店员 张三 平均分配”",
    "staff.help_list": "· 店员 —— 查看全部员工、绑定情况和名下客户数",
    "staff.help_transfer": "· 转移客户 —— 例如“转移客户 C1024 李四”",
    "staff.help_transfer_all": "· 转移全部客户 —— 例如“转移全部客户 张三 李四”",
    # words
    "staff.role_manager": "店长",
    "staff.role_clerk": "顾问",
    "staff.state_bound": "已绑定",
    "staff.state_unbound": "未绑定",
    "staff.state_inactive": "已停用",
    "staff.nobody": "无负责人",
    # binding
    "staff.bind_usage": "请发送“绑定 绑定码”，例如“绑定 ABCD2345”。绑定码由店长提供。",
    "staff.bound": "绑定成功！{name}，您现在是{store}的{role}。回复“帮助”查看员工功能。",
    "staff.already_bound": "您的微信已绑定为{role}{name}，无需再次绑定。",
    "staff.bind_locked": "绑定码输错次数过多，已暂停绑定，请于 {until} 后再试。",
    "staff.code_invalid": "绑定码不正确，请核对后重试（还可以再试 {remaining} 次）。",
    "staff.code_expired": "这个绑定码已过期，请联系店长重新获取。",
    "staff.code_used": "这个绑定码已经用过了，每个绑定码只能用一次。请联系店长重新获取。",
    # inviting
    "staff.invite_usage": (
        "请按格式发送：邀请店员 姓名 手机号，例如“邀请店员 张三 13800001111”；邀请店长请在末尾加“店长”。"
    ),
    "staff.invited": (
        "已为{role}{name}（{mobile}）生成绑定码：{code}\n"
        "{expires}前有效，只能使用一次。\n"
        "绑定二维码：{qr_url}\n"
        "请{name}用微信扫描二维码，或关注公众号后发送“绑定 {code}”。"
    ),
    "staff.invited_no_qr": (
        "已为{role}{name}（{mobile}）生成绑定码：{code}\n"
        "{expires}前有效，只能使用一次。\n"
        "绑定二维码暂时生成失败，请{name}关注公众号后发送“绑定 {code}”。"
    ),
    "staff.invalid_name": "姓名不能为空，且不超过 32 个字。",
    "staff.invalid_mobile": "手机号格式不正确，请填写 11 位手机号，例如 13800001111。",
    "staff.invalid_employee_no": "工号不能超过 16 个字符。",
    "staff.mobile_taken": "{name}（{mobile}）已经是在职员工，无需邀请。",
    "staff.employee_no_taken": "工号 {employee_no} 已被其他员工使用。",
    # finding staff
    "staff.not_found": "没有找到员工“{query}”。回复“店员”查看全部员工。",
    "staff.ambiguous": "有 {count} 位员工叫“{query}”，请改用工号或手机号指明：\n{lines}",
    "staff.candidate": "· {name} {mobile} 工号 {employee_no}",
    "staff.no_employee_no": "无",
    # deactivating
    "staff.deactivate_usage": (
        "请按格式发送：停用店员 姓名，名下有客户时加上接手人，"
        "例如“停用店员 张三 交接给 李四”或“停用店员 张三 平均分配”。"
    ),
    "staff.deactivated": "已停用{role}{name}，TA 的微信已恢复为普通客户身份。{moved}",
    "staff.moved_to": "名下 {count} 位客户已交接给 {to_name}。",
    "staff.moved_spread": "名下 {count} 位客户已平均分配给：{parts}。",
    "staff.moved_part": "{name} {count} 位",
    "staff.tasks_moved": "未完成任务 {count} 个已转交：{parts}。",
    "staff.tasks_part": "{name} {count} 个",
    "staff.tasks_handed_over": "{name} 已停用，TA 的 {count} 个未完成任务已转给您，回复“我的任务”查看。",
    "staff.successor_needed": (
        "{name} 名下还有 {count} 位客户，请指定接手人，"
        "例如“停用店员 {name} 交接给 李四”，或“停用店员 {name} 平均分配”。"
    ),
    "staff.self_deactivation": "不能停用自己的账号。如需交接，请让其他店长操作。",
    "staff.already_inactive": "{name} 已经是停用状态。",
    "staff.no_clerks_left": "没有其他在职顾问可以接手，请指定接手人，或先邀请新顾问。",
    "staff.bad_successor": "接手人不能是被停用的员工本人。",
    # listing
    "staff.list_header": "员工共 {count} 位：",
    "staff.list_line": "{n}. {name} · {role} · 工号 {employee_no} · {mobile} · {state} · 客户 {customers} 位",
    # transfers
    "staff.transfer_usage": "请按格式发送：转移客户 客户编号 员工姓名，例如“转移客户 C1024 李四”。",
    "staff.transfer_all_usage": "请按格式发送：转移全部客户 原负责人 接手人，例如“转移全部客户 张三 李四”。",
    "staff.customer_not_found": "没有找到客户 {code}。",
    "staff.same_owner": "客户 {code} {customer} 本来就由 {name} 负责。",
    "staff.transferred": "已将客户 {code} {customer} 从 {from_name} 转给 {to_name}。",
    "staff.transferred_all": "已将 {from_name} 名下的 {count} 位客户全部转给 {to_name}。",
    "staff.nothing_to_transfer": "{name} 名下没有客户。",
    "staff.same_staff": "原负责人和接手人是同一位员工，无需转移。",
    "staff.inactive_target": "{name} 已停用，不能接手客户。",
    # the owner audit log, as 客户 <id> shows it
    "staff.owner_change": "{at} {from_name} → {to_name}（{reason}）",
    "staff.owner_change_by": "{at} {from_name} → {to_name}（{reason}，{by_name}操作）",
    "staff.reason_transfer": "转移",
    "staff.reason_transfer_all": "整体转移",
    "staff.reason_handover": "停用交接",
    "staff.reason_spread": "停用后平均分配",
    # command line: staff
    "staff.cli_added": "已添加{role}{name}（{mobile}，工号 {employee_no}）。",
    "staff.cli_code": (
        "绑定码：{code}（{expires}前有效，只能使用一次）\n"
        "请{name}用微信关注公众号，发送“绑定 {code}”完成绑定；之后回复“帮助”即可看到员工功能。"
    ),
    "staff.cli_error": "错误：{error}",
    "staff.cli_list_empty": (
        "还没有员工。先添加店长：python -m bot staff add --role manager --name 姓名 --mobile 手机号"
    ),
    # command line: menus
    "staff.menu_customer": "客户菜单已更新：",
    "staff.menu_staff": "员工菜单已更新（只对标签“{tag}”可见，标签 id {tag_id}）：",
    "staff.menu_show_staff": "员工菜单（只对标签“{tag}”可见）：",
    "staff.menu_removed": "已删除旧的员工菜单 {count} 个。",
    "staff.menu_tagged": "已为 {count} 位员工加上员工标签：{names}",
    "staff.menu_untagged": "已为 {count} 位停用员工去掉员工标签：{names}",
    "staff.menu_tags_current": "员工标签已是最新，无需调整。",
    "staff.menu_tag_failed": "以下员工的标签未能更新，请稍后再运行 menu sync：{names}",
    "staff.menu_pending": "待加标签：{tag}；待去标签：{untag}",
    "staff.menu_none": "无",
    "staff.menu_api_failed": "微信接口调用失败：{error}",
}
