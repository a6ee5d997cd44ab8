"""What the HTTP API (`api/`) and the inbox pages (`web/`) share: services, sessions, CSRF and
staff. Both import this package; neither imports the other."""
