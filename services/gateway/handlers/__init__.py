"""One function per operation, with its rules; WS ops, REST v4 commands and the admin API
all call it."""
