"""The Discord front end: events and slash commands in, streamed cited answers out."""
