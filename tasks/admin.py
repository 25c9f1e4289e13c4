"""The Django admin for staff: tasks, kept fast on a table of millions of rows."""

from django.contrib import admin, messages
from django.utils.translation import ngettext

from .admin_pagination import EstimatedCountPaginator
from .models import Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    """Tasks: list, search, filters, completion actions; timestamps are the server's."""

    list_display = ("title", "user_id", "completed", "priority", "due_at", "created_at", "updated_at")
    list_filter = ("completed", "priority", "due_at", "created_at", "updated_at")
    search_fields = ("title", "description")
    search_help_text = "Words in the title or description, or a user id (exact)."
    date_hierarchy = "created_at"
    # Django's own date hierarchy runs a DISTINCT over every listed row; this template swaps in
    # `bounded_date_hierarchy` (templatetags/task_admin.py), which bounds it with one MIN/MAX.
    change_list_template = "admin/tasks/task/change_list.html"
    readonly_fields = ("version", "created_at", "updated_at")
    fields = (
        "user_id",
        "title",
        "description",
        "completed",
        "priority",
        "due_at",
        "tags",
        "version",
        "created_at",
        "updated_at",
    )
    actions = ("mark_completed", "mark_not_completed")
    list_per_page = 50
    # Both counts below would otherwise scan the whole table on every page.
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        # A user id is matched exactly (Better Auth's ids are case-sensitive) through the user_id
        # index; OR-ing it into the text search below would make every search a table scan.
        user_id = search_term.strip()
        if user_id and self.model._default_manager.filter(user_id=user_id).exists():
            return queryset.filter(user_id=user_id), False
        return super().get_search_results(request, queryset, search_term)

    def get_actions(self, request):
        # Deleting a selection across every page builds a confirmation page listing each row;
        # on this table that is millions of objects in memory. Tasks are deleted one at a time.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description="Mark selected tasks as completed")
    def mark_completed(self, request, queryset):
        self.report_changed(request, queryset.set_completed(True), "completed")

    @admin.action(description="Mark selected tasks as not completed")
    def mark_not_completed(self, request, queryset):
        self.report_changed(request, queryset.set_completed(False), "not completed")

    def report_changed(self, request, count, state):
        message = ngettext("%(count)d task marked %(state)s.", "%(count)d tasks marked %(state)s.", count)
        self.message_user(request, message % {"count": count, "state": state}, messages.SUCCESS)
