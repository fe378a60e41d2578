"""The exactly-once heart: consume a command or webhook → call the provider → persist → produce."""
