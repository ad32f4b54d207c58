"""Chinese labels for the canonical English keys (fields.md), for pages a journalist reads.

The keys stay in the data and the API; these tables only decide what a page shows. publish may not
import extract, so the official labels of /work/shared/spec/fields.md are kept here as data.
"""

from __future__ import annotations

from typing import Any

SECTIONS = {
    "proactive": "二、主动公开政府信息情况",
    "requests": "三、收到和处理政府信息公开申请情况",
    "appeals": "四、政府信息公开行政复议、行政诉讼情况",
}

# section proactive: row and column labels (2019 label where the formats differ in wording)
PROACTIVE_ROWS = {
    "regulations": "规章",
    "normative_documents": "规范性文件",
    "licensing": "行政许可",
    "other_services": "其他对外管理服务事项",
    "penalty": "行政处罚",
    "coercion": "行政强制",
    "fees": "行政事业性收费",
    "procurement": "政府集中采购",
}
PROACTIVE_ROWS_2021 = {**PROACTIVE_ROWS, "normative_documents": "行政规范性文件"}
PROACTIVE_COLS = {
    "new_made": "本年新制作数量",
    "new_published": "本年新公开数量",
    "total_published": "对外公开总数量",
    "issued": "本年制发件数",
    "repealed": "本年废止件数",
    "in_force": "现行有效件数",
    "items_last_year": "上一年项目数量",
    "items_change": "本年增/减",
    "decisions": "处理决定数量",
    "projects": "采购项目数量",
    "amount_10k_yuan": "金额（万元）",
}

# section requests: each row's label path in the official table, outermost first; a shared prefix
# is one merged cell, as printed.
RESULTS = "三、本年度办理结果"
REQUEST_ROWS: dict[str, tuple[str, ...]] = {
    "new": ("一、本年新收政府信息公开申请数量",),
    "carried_over": ("二、上年结转政府信息公开申请数量",),
    "granted": (RESULTS, "（一）予以公开"),
    "partial": (RESULTS, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"),
    "denied_state_secret": (RESULTS, "（三）不予公开", "1.属于国家秘密"),
    "denied_prohibited_by_law": (RESULTS, "（三）不予公开", "2.其他法律行政法规禁止公开"),
    "denied_three_safety_one_stability": (RESULTS, "（三）不予公开", "3.危及“三安全一稳定”"),
    "denied_third_party": (RESULTS, "（三）不予公开", "4.保护第三方合法权益"),
    "denied_internal_affairs": (RESULTS, "（三）不予公开", "5.属于三类内部事务信息"),
    "denied_process_info": (RESULTS, "（三）不予公开", "6.属于四类过程性信息"),
    "denied_enforcement_file": (RESULTS, "（三）不予公开", "7.属于行政执法案卷"),
    "denied_admin_inquiry": (RESULTS, "（三）不予公开", "8.属于行政查询事项"),
    "unable_not_held": (RESULTS, "（四）无法提供", "1.本机关不掌握相关政府信息"),
    "unable_needs_creation": (RESULTS, "（四）无法提供", "2.没有现成信息需要另行制作"),
    "unable_unclear": (RESULTS, "（四）无法提供", "3.补正后申请内容仍不明确"),
    "rejected_petition": (RESULTS, "（五）不予处理", "1.信访举报投诉类申请"),
    "rejected_repeat": (RESULTS, "（五）不予处理", "2.重复申请"),
    "rejected_publication": (RESULTS, "（五）不予处理", "3.要求提供公开出版物"),
    "rejected_mass_repeat": (RESULTS, "（五）不予处理", "4.无正当理由大量反复申请"),
    "rejected_confirm_reissue": (
        RESULTS,
        "（五）不予处理",
        "5.要求行政机关确认或重新出具已获取信息",
    ),
    "other": (RESULTS, "（六）其他处理"),
    "other_no_correction": (
        RESULTS,
        "（六）其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    ),
    "other_unpaid_fee": (
        RESULTS,
        "（六）其他处理",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    ),
    "other_other": (RESULTS, "（六）其他处理", "3.其他"),
    "total_handled": (RESULTS, "（七）总计"),
    "carried_forward": ("四、结转下年度继续办理",),
}
APPLICANT_COLS = {
    "natural_person": "自然人",
    "commercial": "商业企业",
    "research": "科研机构",
    "public_interest": "社会公益组织",
    "legal_service": "法律服务机构",
    "other_org": "其他",
    "total": "总计",
}
LEGAL_PERSONS = "法人或其他组织"
LEGAL_PERSON_COLS = ("commercial", "research", "public_interest", "legal_service", "other_org")

# section appeals
APPEAL_ROWS = {
    "review": ("行政复议",),
    "litigation_direct": ("行政诉讼", "未经复议直接起诉"),
    "litigation_after_review": ("行政诉讼", "复议后起诉"),
}
APPEAL_COLS = {
    "upheld": "结果维持",
    "corrected": "结果纠正",
    "other": "其他结果",
    "pending": "尚未审结",
    "total": "总计",
}

STATS = {
    "proactive_total": ("主动公开政府信息", "条"),
    "requests_new": ("本年新收申请", "件"),
    "requests_carried_over": ("上年结转申请", "件"),
    "requests_handled": ("办理结果总计", "件"),
    "requests_granted": ("予以公开", "件"),
    "requests_partial": ("部分公开", "件"),
    "requests_denied": ("不予公开", "件"),
    "requests_unable": ("无法提供", "件"),
    "requests_rejected": ("不予处理", "件"),
    "requests_other": ("其他处理", "件"),
    "requests_carried_forward": ("结转下年度继续办理", "件"),
    "reviews": ("行政复议", "件"),
    "lawsuits": ("行政诉讼", "件"),
    "consultations": ("咨询", "人次"),
    "fees_yuan": ("收费", "元"),
}

CHECKS = {
    "requests_balance": "收支平衡：一＋二＝（七）总计＋四",
    "requests_total_column": "总计列＝各类申请人之和",
    "requests_handled_sum": "（七）总计＝各项办理结果之和",
    "appeals_totals": "复议、诉讼总计＝维持＋纠正＋其他＋尚未审结",
    "proactive_new_within_total": "本年新公开数量不超过对外公开总数量",
    "published_on_time": "按期发布",
    "title_year_matches_period": "标题年度与统计期限一致",
    "cell_conflict": "同一单元格只印一个数",
    "cells_split_ambiguous": "连写数字可唯一拆分",
}

KINDS = {"annual_report": "年度报告", "work_summary": "工作总结", "other": "其他文件"}
FORMATS = {
    "2019": "2019年版表格（国办公开办函〔2019〕60号）",
    "2021": "2021年版表格（国办公开办函〔2021〕30号）",
    "narrative": "文字报告",
}
LEVELS = {
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "乡镇",
    "department": "部门",
}
TEXT_SOURCES = {"page": "网页", "html": "网页", "attachment": "附件", "pdf": "PDF", "docx": "DOCX"}


def cell_label(section: str, row_key: str, col_key: str) -> str:
    """A cell's place in the official table, e.g. （三）不予公开 6.属于四类过程性信息 · 总计."""
    if section == "requests":
        row = " ".join(REQUEST_ROWS.get(row_key, (row_key,)))
        col = APPLICANT_COLS.get(col_key, col_key)
    elif section == "appeals":
        row = "·".join(APPEAL_ROWS.get(row_key, (row_key,)))
        col = APPEAL_COLS.get(col_key, col_key)
    else:
        row = PROACTIVE_ROWS.get(row_key, row_key)
        col = PROACTIVE_COLS.get(col_key, col_key)
    return f"{row} · {col}"


def row_label(section: str, row_key: str) -> str:
    if section == "requests":
        return REQUEST_ROWS.get(row_key, (row_key,))[-1]
    if section == "appeals":
        return "·".join(APPEAL_ROWS.get(row_key, (row_key,)))
    return PROACTIVE_ROWS.get(row_key, row_key)


def col_label(section: str, col_key: str) -> str:
    table = {"requests": APPLICANT_COLS, "appeals": APPEAL_COLS}.get(section, PROACTIVE_COLS)
    return table.get(col_key, col_key)


# --- columns and values where a journalist looks (tables, facets, query results) ----------------

COLUMNS = {
    "id": "编号",
    "report_id": "报告",
    "source_id": "来源栏目",
    "capture_id": "抓取记录",
    "document_capture_id": "数据文件抓取记录",
    "url": "网址",
    "document_url": "数据文件网址",
    "title": "标题",
    "agency": "机关",
    "agency_id": "机关编号",
    "agency_name": "机关",
    "year": "年度",
    "published": "发布日期",
    "kind": "文件类型",
    "kind_reason": "类型依据",
    "format": "报告格式",
    "text": "正文",
    "text_source": "正文来源",
    "parse_status": "解析状态",
    "parse_error": "解析问题",
    "province": "省份",
    "city": "地级市",
    "level": "层级",
    "division_code": "行政区划代码",
    "sha256": "SHA-256",
    "fetched_at": "抓取时间",
    "section": "部分",
    "row_key": "行",
    "col_key": "列",
    "value": "数值",
    "raw": "原文",
    "unit": "单位",
    "row_label": "行（原文）",
    "col_label": "列（原文）",
    "known": "已识别",
    "key": "指标",
    "approx": "约数",
    "origin": "来源",
    "cell_id": "单元格",
    "evidence": "依据",
    "rule": "校验规则",
    "ok": "通过",
    "detail": "详情",
    "failed_check": "未通过的校验",
    "rank": "相关度",
    "snippet": "命中片段",
    "requests": "申请（件）",
    "requests_new": "新收申请（件）",
    "reports": "报告数",
    "agencies": "机关数",
    "provinces": "省份数",
    "years": "年数",
    "outcome": "办理结果",
    "reason": "理由",
    "reports_with_reason": "有此理由的报告数",
    "reports_with_table": "有此表格行的报告数",
    "deadline": "法定期限",
    "days_late": "逾期天数",
    "missing_year": "缺失年度",
    "status": "状态",
    "status_zh": "状态（中文）",
    "last_report_before": "此前最近报告年度",
    "last_crawl": "最近抓取",
    "fetch_error": "抓取错误",
    "failed_url": "失败网址",
    "previous_year": "上年（件）",
    "change": "变化（件）",
    "change_pct": "变化（%）",
    "media": "文件类型",
    "text_chars": "字数",
    "role": "页面角色",
    "content_type": "内容类型",
    "size": "大小（字节）",
    "blocked": "被拦截",
    "error": "错误",
    "message": "信息",
    "at": "时间",
    "note": "备注",
    "crawl_id": "抓取批次",
    "q": "关键词",
}

OUTCOMES = {
    "granted": "予以公开",
    "partial": "部分公开",
    "denied": "不予公开",
    "unable": "无法提供",
    "rejected": "不予处理",
    "other": "其他处理",
}
MISSING_STATUS = {
    "not_published": "未发布",
    "blocked": "抓取被拦截",
    "fetch_failed": "抓取失败",
    "not_due": "抓取时未到期限",
    "not_crawled": "未抓取",
}
ROLES = {"list": "栏目列表页", "report": "报告页", "attachment": "附件", "robots": "robots.txt"}
PARSE_STATUS = {"ok": "已解析", "not_parsed_yet": "暂未解析", "error": "解析出错"}

VALUES: dict[str, dict[str, str]] = {
    "level": LEVELS,
    "kind": KINDS,
    "format": {"2019": "2019年版", "2021": "2021年版", "narrative": "文字报告"},
    "section": SECTIONS,
    "rule": CHECKS,
    "failed_check": {
        **{k: "未通过：" + v for k, v in CHECKS.items()},
        "published_on_time": "逾期发布",
        "title_year_matches_period": "标题年度与统计期限不符",
    },
    "key": {k: v[0] for k, v in STATS.items()},
    "outcome": OUTCOMES,
    "status": MISSING_STATUS,
    "role": ROLES,
    "parse_status": PARSE_STATUS,
    "text_source": TEXT_SOURCES,
    "origin": {"cell": "表格", "sentence": "正文句子"},
}


def column(name: str) -> str:
    """Chinese label of a column (the key itself when we have none)."""
    return COLUMNS.get(name, name)


def value(column_name: str, raw: Any) -> str | None:
    """Chinese label of a coded value, or None when the value is not a code we know."""
    if raw is None:
        return None
    key = str(raw)
    if column_name == "row_key":
        for table in (REQUEST_ROWS, APPEAL_ROWS):
            if key in table:
                return " ".join(table[key])
        return PROACTIVE_ROWS.get(key)
    if column_name == "col_key":
        return APPLICANT_COLS.get(key) or APPEAL_COLS.get(key) or PROACTIVE_COLS.get(key)
    return VALUES.get(column_name, {}).get(key)
