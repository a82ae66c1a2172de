"""Storage: the database connection, schema and migrations, the audit trail, backups, the data key, the data folder's files and paths. Imports only the ground (kapsession's top-level modules)."""
