"""Translation helpers. The msgids are the Chinese texts themselves: zh_CN is the default
locale and needs no catalog; English comes from app/translations/en."""
from flask import has_request_context
from flask_babel import get_locale, gettext


def N_(text: str) -> str:
    """Mark a label for extraction (pybabel knows ``N_``); it is translated where it is shown."""
    return text


def translate(value):
    """Translate a label chosen at run time (a status, a kind, a role name) — the ``tr`` filter.

    Unlike ``_()`` in templates this never %-formats, so any text is safe; non-text passes
    through unchanged.
    """
    if not value or not isinstance(value, str):
        return value
    return gettext(value)


MONTH_NAMES = (N_("一月"), N_("二月"), N_("三月"), N_("四月"), N_("五月"), N_("六月"), N_("七月"), N_("八月"),
               N_("九月"), N_("十月"), N_("十一月"), N_("十二月"))


def months_text(months, chinese: str) -> str:
    """Months for display: ``chinese`` (the caller's own 七、八月 form) under zh_CN and outside a
    request (exports, jobs, text that is parsed back), else the translated month names."""
    if not has_request_context() or str(get_locale() or "zh_CN").startswith("zh"):
        return chinese
    valid = sorted({m for m in (months or []) if isinstance(m, int) and 1 <= m <= 12})
    if not valid:
        return gettext("未定月份")
    return ", ".join(gettext(MONTH_NAMES[m - 1]) for m in valid)


def lazy_choices(labels: dict) -> list[tuple]:
    """Select choices from a {code: Chinese label} dict, each label translated when rendered."""
    from flask_babel import lazy_gettext

    return [(code, lazy_gettext(label)) for code, label in labels.items()]


# Labels of modules that other work is changing at the moment (tenants/roles.py ROLE_LABELS,
# app/titles/models.py, app/rounds/services.py): marked here so that they are extracted.
# Prefer N_() in the dict itself (see app/rounds/models.py); tests/test_i18n.py checks that
# every label of these dicts has an English translation, wherever it is marked.
ELSEWHERE = (
    # tenants/roles.py ROLE_LABELS
    N_("平台管理员"), N_("区教育工会管理员"), N_("区教育工会工作人员"), N_("评审专家"), N_("学校工会主席"),
    N_("工会委员"),
    # app/titles/models.py TIERS, LEVELS, TITLE_STATUSES, HOME_KINDS
    N_("合格"), N_("先进"), N_("模范"),
    N_("区级"), N_("市级"), N_("省级"), N_("全国"),
    N_("有效"), N_("待复查"), N_("复查保留"), N_("限期整改"), N_("已摘牌"),
    N_("职工之家"), N_("职工小家"),
    # app/rounds/services.py GRADE_BANDS, TIE_BREAKS, ELIGIBILITY_LABELS
    N_("优秀"), N_("良好"),
    N_("无一票否决且必备项齐全者优先"), N_("考评分高者优先"), N_("自评分高者优先"), N_("入会率高者优先"),
    N_("先提交者优先"),
    N_("须已获得的称号等级"), N_("入会率不低于（%）"), N_("年度计划完成率不低于（%）"), N_("年度计划须已通过审核"),
    # app/rounds/services.py ACTION_LABELS (shown in the audit log)
    N_("新建评选/考核轮次"), N_("修改轮次设置"), N_("轮次开始申报"), N_("轮次开始评审"), N_("申报/列入轮次"),
    N_("保存自评"), N_("提交申报"), N_("退回申报"), N_("上传佐证材料"), N_("佐证材料被拒绝"), N_("删除佐证材料"),
    # app/results/services.py and app/assessments/services.py ACTION_LABELS (shown in the audit log)
    N_("轮次进入核分"), N_("确认/调整推荐结果"), N_("发布结果并开始公示"), N_("撤回公示，退回核分"), N_("结果定稿（命名）"),
    N_("提出异议"), N_("设置工作日调整"), N_("删除工作日调整"),
    N_("加入评审专家库"), N_("移出评审专家库"), N_("申报利益冲突（回避）"), N_("系统提示利益冲突"), N_("确认利益冲突"),
    N_("排除利益冲突提示"), N_("指派评审"), N_("取消评审指派"), N_("Excel导入评审指派"), N_("随机均衡分配评审"),
    N_("按评审组分配评审"), N_("保存评审组"), N_("保存评分"), N_("提交评分表"), N_("退回评分表重新评分"),
    N_("提出否决/必备项问题"), N_("确认否决/必备项问题"), N_("不采纳否决/必备项问题"), N_("提醒评审专家"),
)
