"""The clinic hub: a PostgreSQL server every room's laptop syncs its records to (issue 16).

The laptop stays the source of truth; nothing in the room waits on the hub. psycopg is
imported only here, and only when a hub command or the sync worker runs."""
