"""The business rules of Billing, written once: pure Python, no I/O, no framework.

`payments` and `refunds` hold the statuses, the one transitions table per kind (the SQL
guards take their status lists from it) and what is refundable and how much; `commands`
builds the commands every writer sends; `errors` is the tree of what a rule can refuse.
The gateway, the admin and the processors all import from here.
"""
