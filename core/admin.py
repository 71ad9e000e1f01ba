"""Admin building blocks shared by every app."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that only services write (ledgers, fills, imported market data, logs): listed and
    viewed in the admin, never added or edited by hand. ``deletable = True`` lets staff with the
    delete permission remove rows that are disposable computations (a stored backtest)."""

    deletable = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return self.deletable and super().has_delete_permission(request, obj)
