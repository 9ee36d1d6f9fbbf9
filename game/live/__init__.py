"""The live socket edge: the game socket (consumers), what it accepts (protocol) and who is on it
(identity), the checks at its door (origin), daphne's transport and the channel layer, the
per-process presence heartbeat, the instructor's session hook and the charts' past over HTTP.
docs/architecture.md, "game/"."""
