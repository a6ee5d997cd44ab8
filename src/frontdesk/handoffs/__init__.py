"""Staff work on handed-off conversations: one service that the API and the inbox both call."""
