from django.contrib import admin

from cases.admin import ReadOnlyAdmin

from .models import Reply, ReturnVisit


@admin.register(Reply)
class ReplyAdmin(ReadOnlyAdmin):
    list_display = ["case", "channel", "handling_unit", "sent_by", "sent_at"]
    list_filter = ["channel"]
    search_fields = ["case__number", "content"]
    list_select_related = ["case", "sent_by"]
    date_hierarchy = "sent_at"


@admin.register(ReturnVisit)
class ReturnVisitAdmin(ReadOnlyAdmin):
    list_display = ["case", "method", "reached", "is_solved", "satisfaction", "visited_by",
                    "visited_at"]
    list_filter = ["method", "reached", "satisfaction"]
    search_fields = ["case__number", "comments"]
    list_select_related = ["case", "visited_by"]
    date_hierarchy = "visited_at"
