"""Users, their roles and their departments in the admin.

A role is a Django group named by its code (`department_head`); the code is what the
program checks, so it never changes here, and the office reads the role's Chinese name
wherever the admin shows a group. A person's departments (as handler, as head) are
edited on their own page.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, Permission
from django.db.models import Count, Q
from django.utils.translation import gettext, gettext_lazy as _

from .models import Department
from .roles import Role

User = get_user_model()

# Permissions are named when the tables are made, in English ("Can add 部门"); the
# picker names them by their model and the action instead.
ACTIONS = {"add": _("增加"), "change": _("修改"), "delete": _("删除"), "view": _("查看")}


def role_label(name: str) -> str:
    """A group's name as the office says it: the role's Chinese name, else the name."""
    return str(Role(name).label) if name in Role.values else name


def permission_label(permission: Permission) -> str:
    action = permission.codename.split("_", 1)[0]
    model = permission.content_type.model_class()
    if model is None or action not in ACTIONS:
        return str(permission)
    return f"{model._meta.app_config.verbose_name} | {model._meta.verbose_name} | {ACTIONS[action]}"


class RoleFilter(admin.SimpleListFilter):
    title = _("角色")
    parameter_name = "role"

    def lookups(self, request, model_admin):
        names = Group.objects.order_by("name").values_list("name", flat=True)
        return [(name, role_label(name)) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(groups__name=self.value()).distinct() if self.value() else queryset


class DepartmentFilter(admin.SimpleListFilter):
    title = _("部门")
    parameter_name = "department"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Department.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if not (self.value() or "").isdigit():
            return queryset
        department = int(self.value())
        return queryset.filter(Q(departments=department) | Q(headed_departments=department)
                               ).distinct()


class MembershipInline(admin.TabularInline):
    """承办人员: the departments whose cases this person works."""

    model = Department.members.through
    fk_name = "user"
    fields = ["department"]
    extra = 0
    verbose_name = _("所在部门（承办人员）")
    verbose_name_plural = _("所在部门（承办人员）")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "department":
            kwargs.update(label=_("部门"), help_text=_(
                "作为承办人员：可以看到并办理这个部门的案件。"))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class HeadshipInline(MembershipInline):
    """负责人: the departments this person heads (assigns, approves the results)."""

    model = Department.heads.through
    verbose_name = _("负责的部门（部门负责人）")
    verbose_name_plural = _("负责的部门（部门负责人）")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "department":
            field.help_text = _("作为负责人：分派这个部门的案件，审核部门的办理结果。")
        return field


def _chinese_pickers(db_field, form_field):
    """Roles by their Chinese names as ticks; permissions by model and action, with
    help that says how the two-list picker works (not Control-click)."""
    if form_field is None:
        return form_field
    if db_field.name == "groups":
        form_field.label = _("角色")
        form_field.help_text = _("这个人在信访办的角色，可多选：决定能看到哪些案件、能办理哪些操作。")
        form_field.label_from_instance = lambda group: role_label(group.name)
    if db_field.name in ("permissions", "user_permissions"):
        form_field.help_text = _(
            "在左侧“可用”列表中选中（可在上方输入文字筛选），点击向右的箭头加入；一般按角色"
            "授权即可，无需在此单独勾选。")
        form_field.label_from_instance = permission_label
    return form_field


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class PetitionUserAdmin(UserAdmin):
    list_display = ["username", "full_name", "role_names", "department_names", "is_active",
                    "is_staff"]
    list_filter = [RoleFilter, DepartmentFilter, "is_active", "is_staff", "is_superuser"]
    filter_horizontal = ["user_permissions"]
    inlines = [MembershipInline, HeadshipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(
            "groups", "departments", "headed_departments")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return _chinese_pickers(db_field, super().formfield_for_manytomany(db_field, request,
                                                                           **kwargs))

    @admin.display(description=_("姓名"), ordering="first_name")
    def full_name(self, user):
        return user.get_full_name() or "—"

    @admin.display(description=_("角色"))
    def role_names(self, user):
        return "、".join(role_label(group.name) for group in user.groups.all()) or "—"

    @admin.display(description=_("部门"))
    def department_names(self, user):
        names = [department.name for department in user.departments.all()]
        names += [gettext("%(department)s（负责人）") % {"department": department.name}
                  for department in user.headed_departments.all()]
        return "、".join(names) or "—"


@admin.register(Group)
class RoleGroupAdmin(GroupAdmin):
    """角色: the groups the program knows by code keep their code and cannot be deleted."""

    list_display = ["label", "name", "member_count"]
    list_display_links = ["label"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(members=Count("user"))

    @admin.display(description=_("角色"), ordering="name")
    def label(self, group):
        return role_label(group.name)

    @admin.display(description=_("人数"), ordering="members")
    def member_count(self, group):
        return group.members

    def get_readonly_fields(self, request, obj=None):
        return ["name"] if obj is not None and obj.name in Role.values else []

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.name in Role.values:
            return False
        return super().has_delete_permission(request, obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "name" and field is not None:
            field.label = _("代码")
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        return _chinese_pickers(db_field, super().formfield_for_manytomany(db_field, request,
                                                                           **kwargs))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        group = self.get_object(request, object_id)
        context = {"subtitle": role_label(group.name)} if group is not None else {}
        return super().change_view(request, object_id, form_url,
                                   {**context, **(extra_context or {})})


# The office says 用户与角色 for Django's 认证和授权, and 角色 for its groups. Only the
# names shown change: migrations read a model's declared options, not these.
Group._meta.verbose_name = _("角色")
Group._meta.verbose_name_plural = _("角色")
Group._meta.app_config.verbose_name = _("用户与角色")
