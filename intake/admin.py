from django.contrib import admin

from .models import SafetyPhrase


@admin.register(SafetyPhrase)
class SafetyPhraseAdmin(admin.ModelAdmin):
    """紧急与停供词语: what raises a case to T1 (and alerts the office) or to T2."""

    list_display = ["phrase", "kind", "is_active", "note"]
    list_filter = ["kind", "is_active"]
    list_editable = ["is_active"]
    search_fields = ["phrase", "note"]
