from django import template

register = template.Library()


@register.simple_tag
def complained_party_for(user, case):
    """The party complained about, for those who may see it (staff data: the office,
    supervisors, the heads concerned), else None."""
    from oversight.complaints import may_see_party

    if not (case.complained_department_id or case.complained_section or case.complained_person):
        return None
    if not may_see_party(user, case):
        return None
    return {"department": case.complained_department, "section": case.complained_section,
            "person": case.complained_person, "finding": case.get_finding_display()}
