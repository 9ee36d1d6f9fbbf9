"""The web pages: the HTTP views (join, play, console, projector, create), their URLs and
response headers, the join link's reachability check and the static files' storage.
docs/architecture.md, "game/"."""
