"""Django project: the one owner of the payments_history schema, and the operators' admin."""
