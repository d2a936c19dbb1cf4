"""The read model: its tables, schema migrations, projection and queries, one library shared by
the services that write it (the registry) and read it (console, notifier, codec server)."""
