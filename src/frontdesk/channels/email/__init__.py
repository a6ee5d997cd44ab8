"""The email channel: customers write in by email and get threaded answers by email."""
