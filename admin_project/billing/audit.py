"""Who did what, when: every admin action lands in Django's LogEntry (the admin's History)."""

from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Model


def record(user_id: int, obj: Model | type[Model], message: str) -> None:
    """Log `message` against `obj` (an instance, or a model class for list-wide actions)."""
    instance = None if isinstance(obj, type) else obj
    model: type[Model] = obj if isinstance(obj, type) else type(obj)
    LogEntry.objects.create(
        user_id=user_id,
        content_type=ContentType.objects.get_for_model(model),
        object_id=str(instance.pk) if instance is not None else None,
        object_repr=str(instance)[:200] if instance is not None else str(model._meta.verbose_name),
        action_flag=CHANGE,
        change_message=message,
    )
